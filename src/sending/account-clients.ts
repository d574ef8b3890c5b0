import { demandConnections } from '../config/connection.js';
import type { Account } from '../config/load.js';
import type { StipendContext } from '../context.js';
import type { Logger } from '../log.js';
import { providerTimingsKey, type TimingRecorder, timingRecorder } from '../metrics/provider-timings.js';
import type { ProviderClient } from '../providers/types.js';
import { type AccountGate, openAccountGate } from '../queue/account-gate.js';
import { openProviderClient } from './provider-client.js';

export interface AccountClient {
  account: Account;
  client: ProviderClient<Record<string, string>>;
  gate: AccountGate;
}

/**
 * Each account's provider client behind the account's shared rate-limit gate: what workers pay
 * through and what `stipend check` asks. close() ends provider sessions (e.g. PT API logout) and
 * writes the timings not yet written.
 * Every request's timing is recorded for the dashboard; one that cannot be is logged to `log`.
 */
export async function openAccountClients(context: StipendContext, accounts: Account[], log?: Logger): Promise<{ clients: AccountClient[]; close(): Promise<void> }> {
  // An unset ${VAR} of any of them refuses before a gate or client is open.
  demandConnections(accounts);
  const clients: AccountClient[] = [];
  const timings: TimingRecorder[] = [];
  for (const account of accounts) {
    const gate = openAccountGate(context.redis, context.config.prefix, account);
    const recorder = timingRecorder(context.redis, providerTimingsKey(context.config.prefix, account.provider, account.name), (error) => {
      log?.warn({ err: error, provider: account.provider, account: account.name }, 'could not record a provider request\'s timing for the dashboard');
    });
    timings.push(recorder);
    clients.push({ account, gate, client: openProviderClient(context.redis, context.config.prefix, account, gate.gate, (timing) => recorder.observe(timing)) });
  }
  return {
    clients,
    close: async () => {
      await Promise.all(clients.map((c) => c.client.close()));
      await Promise.all(timings.map((t) => t.flush()));
    },
  };
}
