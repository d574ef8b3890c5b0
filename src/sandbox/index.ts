import { readFile } from 'node:fs/promises';
import { UsageError } from '../errors.js';
import { fixturePath } from '../package-root.js';
import type { ProviderId } from '../providers/types.js';
import { type Protocol, type RunningSandbox, type SandboxOptions, serve } from './core.js';
import { clientpayProtocol } from './clientpay.js';
import { ctpayerProtocol } from './ctpayer.js';
import { ontraportProtocol } from './ontraport.js';
import { ptapiProtocol } from './ptapi.js';
import { virtualrxProtocol } from './virtualrx.js';

export type { AppliedTransaction, FaultRule, ReceivedRequest, RunningSandbox, SandboxOptions } from './core.js';

/** Where `stipend sandbox` listens, and so where the configuration without a file points. */
export const DEFAULT_SANDBOX_PORTS = { ctpayer: 4101, ptapi: 4102, ontraport: 4103, clientpay: 4104, virtualrx: 4105 } as const;

const PROTOCOLS: Partial<Record<ProviderId, Protocol>> = { clientpay: clientpayProtocol, ctpayer: ctpayerProtocol, ontraport: ontraportProtocol, ptapi: ptapiProtocol, virtualrx: virtualrxProtocol };

/**
 * Starts one provider's sandbox; it listens until close(). Takes any provider id (callers iterate
 * over the configured providers) and refuses one whose sandbox is not built yet.
 */
export async function startSandbox(provider: ProviderId, options: SandboxOptions = {}): Promise<RunningSandbox> {
  const protocol = PROTOCOLS[provider];
  if (!protocol) throw new UsageError(`there is no built-in sandbox for ${provider} yet; choose one of: ${Object.keys(PROTOCOLS).join(', ')}`);
  const seed = options.seed ?? (JSON.parse(await readFile(fixturePath(provider, 'sandbox.json'), 'utf8')) as unknown);
  return serve(protocol, { ...options, seed, port: options.port ?? DEFAULT_SANDBOX_PORTS[provider] });
}
