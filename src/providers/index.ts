import { UsageError } from '../errors.js';
import { clientpay } from './clientpay.js';
import { ctpayer } from './ctpayer.js';
import { ontraport } from './ontraport.js';
import { ptapi } from './ptapi.js';
import { PROVIDER_IDS, type ProviderAdapter, type ProviderId } from './types.js';
import { virtualrx } from './virtualrx.js';

/**
 * An adapter as the rest of the program holds it: its field, credential and client types read as
 * the general ones (text fields, text credentials, the client interface). The adapter's own zod
 * schemas check fields and credentials at the edges (manifest rows, configuration), and a
 * capability's method is only ever given the client its own adapter created (openProviderClient).
 */
export type AnyAdapter = ProviderAdapter;

/** Every provider's adapter: a provider added to PROVIDER_IDS must be added here. */
const adapters: Record<ProviderId, AnyAdapter> = { clientpay, ctpayer, ontraport, ptapi, virtualrx };

/** Every provider id, alphabetically (as messages list them). */
export function providerIds(): ProviderId[] {
  return [...PROVIDER_IDS].sort();
}

function isProviderId(id: string): id is ProviderId {
  return (PROVIDER_IDS as readonly string[]).includes(id);
}

export function getAdapter(id: string): AnyAdapter {
  if (!isProviderId(id)) throw new UsageError(`unknown provider "${id}"; choose one of: ${providerIds().join(', ')}`);
  return adapters[id];
}
