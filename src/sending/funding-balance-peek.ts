import { setTimeout as sleep } from 'node:timers/promises';
import type { Account } from '../config/load.js';
import type { StipendContext } from '../context.js';
import type { RequestGate } from '../providers/http.js';
import { accountPausedForMs } from '../limits/account-gate.js';
import { type BalanceReader, readBalanceRetrying } from './funding-balance.js';
import { openProviderClient } from './provider-client.js';

/**
 * The funding balance for `stipend run --dry-run`, read so that it leaves nothing in Redis: the
 * request takes no place in the account's rate-limit window and its timing is not recorded for the
 * dashboard (both are writes). It still waits out a pause that a provider's 429/503 put on the
 * account (a read of the pause's time to live), so a dry run never calls a provider that asked the
 * account to wait. Outside the window, this one read may reach the provider one request over the
 * account's limit while workers pay at its full rate: a price of one request per dry run, and the
 * read is retried like any other if the provider answers "slow down".
 *
 * CT Payer and PT API, the providers that tell a balance, keep no session in Redis; a provider
 * that did would store its session here as every client of the account does.
 */
export async function peekFundingBalanceCents(context: StipendContext, account: Account, balance: BalanceReader): Promise<number> {
  const client = openProviderClient(context.redis, context.keys, account, afterAnyPause(context, account));
  try {
    return await readBalanceRetrying(account, () => balance.fundingBalanceCents(client));
  } finally {
    await client.close();
  }
}

/** A gate that only waits while the account is paused, and records nothing. */
function afterAnyPause(context: StipendContext, account: Account): RequestGate {
  return async (send) => {
    for (let ms = await accountPausedForMs(context.redis, context.keys, account); ms > 0; ms = await accountPausedForMs(context.redis, context.keys, account)) {
      await sleep(ms);
    }
    return send();
  };
}
