import type { Account } from '../config/load.js';
import { UsageError } from '../errors.js';
import type { AnyAdapter } from '../providers/index.js';

/** How an account's adapter makes card calls, and the client it makes them through. */
export type CardCalls = NonNullable<AnyAdapter['cards']>;
export type CardClient = Parameters<CardCalls['details']>[0];

/**
 * Card lifecycle calls (assigncard, setcardstatus) are CT Payer's; no other provider documents them.
 * Returns the account's card calls, or refuses an account whose provider has none.
 */
export function requireCardCalls(account: Account): CardCalls {
  const { cards } = account.adapter;
  if (!cards) throw new UsageError(`card commands are for CT Payer accounts; ${account.adapter.name} documents no card assignment or cancellation`);
  return cards;
}
