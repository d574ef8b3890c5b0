import { setTimeout as sleep } from 'node:timers/promises';
import type { Account } from '../config/load.js';
import type { StipendContext } from '../context.js';
import { StipendError } from '../errors.js';
import type { AnyAdapter } from '../providers/index.js';
import { openAccountClient } from './account-clients.js';

/** The funding balance stayed unreadable through every attempt; nothing was queued or sent. */
export class FundingBalanceUnreadableError extends StipendError {
  constructor(account: Account, attempts: number, cause: unknown) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    super('FUNDING_BALANCE_UNREADABLE', `could not read the ${account.adapter.name} funding balance after ${attempts} attempt${attempts === 1 ? '' : 's'} (${reason})`, { cause });
  }
}

/**
 * The provider refused the account's credentials when asked for its balance: a configuration
 * problem, which no retry and no other manifest can fix. Nothing was queued or sent.
 */
export class CredentialsRefusedError extends StipendError {
  constructor(account: Account, cause: unknown) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    super(
      'CREDENTIALS_REFUSED',
      `${account.adapter.name} refused the ${account.name} account's credentials when asked for its funding balance (${reason}): fix them in the configuration (stipend check --provider ${account.provider} proves them); nothing was queued`,
      { cause },
    );
  }
}

// The adapters throw the provider's own code in their message: CT Payer's AUTH_FAILED, PT API's
// UNAUTHORIZED (a refused login, or a token refused again right after a fresh login).
const CREDENTIALS_REFUSED = /: (AUTH_FAILED|UNAUTHORIZED):/;

/** How an account's adapter reads the funding balance, where its provider tells one. */
export type BalanceReader = NonNullable<AnyAdapter['balance']>;

/**
 * The account's funding balance in cents, read by its adapter's `balance` through the account's
 * client and shared rate limit (readBalanceRetrying).
 */
export async function readFundingBalanceCents(context: StipendContext, account: Account, balance: BalanceReader): Promise<number> {
  const client = await openAccountClient(context, account);
  try {
    return await readBalanceRetrying(account, () => balance.fundingBalanceCents(client.provider));
  } finally {
    await client.close();
  }
}

/**
 * Reading the balance moves no money, so a read that failed (a connection reset, a 503, an
 * unreadable answer) is simply made again, like any other call: up to the account's
 * `retry.attempts`, with exponential backoff from `retry.backoffMs`. One bad moment at the provider
 * must not refuse a whole batch; a balance that stays unreadable does. Refused credentials are not
 * read again: CredentialsRefusedError at once.
 */
export async function readBalanceRetrying(account: Account, read: () => Promise<number>): Promise<number> {
  const { attempts, backoffMs } = account.retry;
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await read();
    } catch (error) {
      if (error instanceof Error && CREDENTIALS_REFUSED.test(error.message)) throw new CredentialsRefusedError(account, error);
      if (attempt >= attempts) throw new FundingBalanceUnreadableError(account, attempt, error);
      await sleep(backoffMs * 2 ** (attempt - 1));
    }
  }
}
