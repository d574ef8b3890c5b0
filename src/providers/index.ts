import { UsageError } from '../errors.js';
import { clientpay } from './clientpay.js';
import { ctpayer } from './ctpayer.js';
import { ontraport } from './ontraport.js';
import { ptapi } from './ptapi.js';
import type { ProviderAdapter, ProviderId } from './types.js';
import { virtualrx } from './virtualrx.js';

// The registry erases each adapter's field and credential types; they are checked again by the
// adapter's own zod schemas at the edges (manifest rows, configuration).
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyAdapter = ProviderAdapter<any, any>;

const adapters: Partial<Record<ProviderId, AnyAdapter>> = { clientpay, ctpayer, ontraport, ptapi, virtualrx };

export function providerIds(): ProviderId[] {
  return Object.keys(adapters) as ProviderId[];
}

export function getAdapter(id: string): AnyAdapter {
  const adapter = adapters[id as ProviderId];
  if (!adapter) throw new UsageError(`unknown provider "${id}"; choose one of: ${providerIds().join(', ')}`);
  return adapter;
}
