import { readFile } from 'node:fs/promises';
import { fixturePath } from '../package-root.js';
import { PROVIDER_IDS, type ProviderId } from '../providers/types.js';
import { type Protocol, type RunningSandbox, type SandboxOptions, serve } from './core.js';
import { clientpayProtocol } from './clientpay.js';
import { ctpayerProtocol } from './ctpayer.js';
import { ontraportProtocol } from './ontraport.js';
import { ptapiProtocol } from './ptapi.js';
import { virtualrxProtocol } from './virtualrx.js';

export type { AppliedTransaction, FaultRule, ReceivedRequest, RunningSandbox, SandboxOptions } from './core.js';

/**
 * `stipend sandbox --port-base <n>` puts each provider's sandbox on port n + its offset. The offsets
 * are part of the command's documented interface: never change one; a new provider takes the next.
 */
const PORT_OFFSETS: Record<ProviderId, number> = { ctpayer: 0, ptapi: 1, ontraport: 2, clientpay: 3, virtualrx: 4 };

/** Every provider, in the order of its sandbox's port. */
export const SANDBOX_PORT_ORDER: readonly ProviderId[] = [...PROVIDER_IDS].sort((a, b) => PORT_OFFSETS[a] - PORT_OFFSETS[b]);

/** The default base: CT Payer 4101 … VirtualRx 4105, the ports the sandboxes have always had. */
export const DEFAULT_SANDBOX_PORT_BASE = 4101;

/** Each sandbox's port for a base (see SANDBOX_PORT_ORDER). */
export function sandboxPorts(base: number): Record<ProviderId, number> {
  return Object.fromEntries(SANDBOX_PORT_ORDER.map((provider) => [provider, base + PORT_OFFSETS[provider]])) as Record<ProviderId, number>;
}

/** Where `stipend sandbox` listens by default, and so where the configuration without a file points. */
export const DEFAULT_SANDBOX_PORTS = sandboxPorts(DEFAULT_SANDBOX_PORT_BASE);

/** Every provider's sandbox: a provider added to PROVIDER_IDS must be added here. */
const PROTOCOLS: Record<ProviderId, Protocol> = { clientpay: clientpayProtocol, ctpayer: ctpayerProtocol, ontraport: ontraportProtocol, ptapi: ptapiProtocol, virtualrx: virtualrxProtocol };

/** Starts one provider's sandbox; it listens until close(). */
export async function startSandbox(provider: ProviderId, options: SandboxOptions = {}): Promise<RunningSandbox> {
  const protocol = PROTOCOLS[provider];
  const seed = options.seed ?? (JSON.parse(await readFile(fixturePath(provider, 'sandbox.json'), 'utf8')) as unknown);
  return serve(protocol, { ...options, seed, port: options.port ?? DEFAULT_SANDBOX_PORTS[provider] });
}
