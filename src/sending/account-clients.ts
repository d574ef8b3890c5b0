import { demandConnections } from '../config/connection.js';
import type { Account } from '../config/load.js';
import type { StipendContext } from '../context.js';
import type { Logger } from '../log.js';
import { timingRecorder } from '../metrics/provider-timings.js';
import type { ProviderClient } from '../providers/types.js';
import { type AccountGate, openAccountGate } from '../limits/account-gate.js';
import { openProviderClient } from './provider-client.js';

/**
 * The client of an account: its provider's client behind the account's shared rate-limit gate.
 * What workers pay through, `stipend reverse` reverses through and `stipend check` asks.
 */
export interface AccountClient {
  account: Account;
  /** The provider's client; every request it makes passes the gate. */
  provider: ProviderClient<Record<string, string>>;
  gate: AccountGate;
  /** Ends the provider session (e.g. PT API logout) and writes the request timings not yet written. */
  close(): Promise<void>;
}

/**
 * Opens the client of one account. Every request's timing is recorded for the dashboard; one that
 * cannot be is logged to `log`.
 */
export async function openAccountClient(context: StipendContext, account: Account, log?: Logger): Promise<AccountClient> {
  // An unset ${VAR} of the account refuses before its gate or client is open.
  demandConnections([account]);
  return open(context, account, log);
}

/** The clients of several accounts; an unset ${VAR} of any of them refuses before any is open. */
export async function openAccountClients(context: StipendContext, accounts: Account[], log?: Logger): Promise<{ clients: AccountClient[]; close(): Promise<void> }> {
  demandConnections(accounts);
  const clients = accounts.map((account) => open(context, account, log));
  return { clients, close: async () => void (await Promise.all(clients.map((c) => c.close()))) };
}

function open(context: StipendContext, account: Account, log: Logger | undefined): AccountClient {
  const gate = openAccountGate(context.redis, context.keys, account);
  const timings = timingRecorder(context.redis, context.keys.providerTimings(account.provider, account.name), (error) => {
    log?.warn({ err: error, provider: account.provider, account: account.name }, 'could not record a provider request\'s timing for the dashboard');
  });
  const provider = openProviderClient(context.redis, context.keys, account, gate.gate, (timing) => timings.observe(timing));
  return {
    account,
    provider,
    gate,
    close: async () => {
      await provider.close();
      await timings.flush();
    },
  };
}
