import { DEFAULT_SANDBOX_PORTS } from '../sandbox/index.js';
import { PROVIDER_IDS, type ProviderId } from '../providers/types.js';
import type { ConfigFile } from './schema.js';

/**
 * The configuration used when no file is given: one account per provider, pointing at the built-in
 * sandboxes on their default ports (`stipend sandbox`). These credentials are the sandboxes' own
 * seed values (fixtures/<provider>/sandbox.json), not secrets, yet treated as such: the test that
 * searches the demo's output, Redis and reports for them (test/security) needs each to be a value
 * found nowhere else, so ClientPay's PIN is one no demo manifest holds.
 *
 * acceptRedisWriteLoss: the sandboxes move no real money, and the demo must run on any Redis,
 * Debian's default (appendonly no) included. A lost sending mark at worst pays a sandbox twice.
 * CT Payer's payments need no such consent (it refuses a resend itself), but its reversals do: no
 * reversal carries a key.
 */
export function sandboxConfig(ports: Partial<Record<ProviderId, number>> = {}): ConfigFile {
  const url = (provider: ProviderId) => `http://127.0.0.1:${ports[provider] ?? DEFAULT_SANDBOX_PORTS[provider]}`;
  return {
    // Every provider has a sandbox, so every provider has an account here.
    accounts: {
      ctpayer: {
        sandbox: {
          baseUrl: url('ctpayer'),
          credentials: { username: 'sandbox', password: 'sandbox-password', apiusername: 'stipend-batch' },
          acceptRedisWriteLoss: true,
        },
      },
      ptapi: {
        sandbox: { baseUrl: url('ptapi'), credentials: { username: 'sandbox', password: 'sandbox-password' }, acceptRedisWriteLoss: true },
      },
      ontraport: {
        sandbox: { baseUrl: url('ontraport'), credentials: { appid: 'sandbox-app', key: 'sandbox-key' }, acceptRedisWriteLoss: true },
      },
      clientpay: {
        sandbox: {
          baseUrl: url('clientpay'),
          credentials: { integratorKey: 'sandbox-integrator', accountKey: 'sandbox-account', accountPin: '4826' },
          acceptRedisWriteLoss: true,
        },
      },
      virtualrx: {
        sandbox: { baseUrl: url('virtualrx'), credentials: { token: 'sandbox-token' }, acceptRedisWriteLoss: true },
      },
    } satisfies Record<ProviderId, unknown>,
  };
}

/** The providers the built-in configuration has an account for: every one. */
export function sandboxProviders(): ProviderId[] {
  return [...PROVIDER_IDS];
}
