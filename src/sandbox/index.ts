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

/**
 * `stipend sandbox --port-base <n>` puts the provider at index i of this order on port n + i. The
 * order is part of the command's documented interface: never reorder it, only append.
 */
export const SANDBOX_PORT_ORDER = ['ctpayer', 'ptapi', 'ontraport', 'clientpay', 'virtualrx'] as const satisfies readonly ProviderId[];
type SandboxProvider = (typeof SANDBOX_PORT_ORDER)[number];

/** The default base: CT Payer 4101 … VirtualRx 4105, the ports the sandboxes have always had. */
export const DEFAULT_SANDBOX_PORT_BASE = 4101;

/** Each sandbox's port for a base (see SANDBOX_PORT_ORDER). */
export function sandboxPorts(base: number): Record<SandboxProvider, number> {
  return Object.fromEntries(SANDBOX_PORT_ORDER.map((provider, i) => [provider, base + i])) as Record<SandboxProvider, number>;
}

/** Where `stipend sandbox` listens by default, and so where the configuration without a file points. */
export const DEFAULT_SANDBOX_PORTS = sandboxPorts(DEFAULT_SANDBOX_PORT_BASE);

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
