import type { Redis } from 'ioredis';
import type { RedisKeys } from '../redis/keys.js';
import { scripted } from '../redis/scripts.js';
import { encodeBatchRow } from './batch-rows.js';

/**
 * Each provider field of a payment is its own hash field, named with this prefix (`f.cardId`), not
 * one JSON value: a record whose every value stays within Redis's hash-max-listpack-value (64 bytes
 * by default) is kept as a compact listpack, about a third of a hash table's size. Written by
 * redis/lua/claimPayments.lua, which spells it out.
 */
export const PROVIDER_FIELD = 'f.';

/** A payment as a batch claims and records it (redis/lua/claimPayments.lua). */
export interface NewPayment {
  line: number;
  paymentId: string;
  payee: string;
  amountCents: number;
  /** The provider fields to send: never credentials; never card numbers (the manifest refuses them). */
  fields: Record<string, string>;
  participantId?: string;
  reimbursement?: boolean;
}

/**
 * Returns, per payment, undefined when this batch holds it (and will pay it), else the batch that
 * does. `otherAccounts`: the provider's other accounts whose holders count too.
 */
export async function claimPayments(
  redis: Redis,
  keys: RedisKeys,
  owner: { provider: string; account: string },
  batchId: string,
  payments: NewPayment[],
  otherAccounts: readonly string[] = [],
): Promise<(string | undefined)[]> {
  if (payments.length === 0) return [];
  const { provider, account } = owner;
  const claimKeys = [
    keys.batch(batchId), keys.batchClaims(batchId),
    ...payments.flatMap((p) => [
      keys.holder(provider, account, p.paymentId), keys.payment(provider, account, batchId, p.paymentId),
      ...otherAccounts.map((other) => keys.holder(provider, other, p.paymentId)),
    ]),
  ];
  const args = payments.flatMap((p) => [p.line, p.paymentId, p.payee, p.amountCents, JSON.stringify(p.fields), p.participantId ?? '', p.reimbursement ? '1' : '']);
  const prefixes = [account, ...otherAccounts].map((name) => keys.paymentPrefix(provider, name));
  const holders = (await scripted(redis).claimPayments(claimKeys.length, ...claimKeys, payments.length, otherAccounts.length, batchId, provider, account, new Date().toISOString(), ...prefixes, ...args)) as string[];
  return holders.map((holder) => (holder === '' ? undefined : holder));
}

/** Per payment id, the account (of `accounts`, all of `provider`) and batch that hold it, if any. */
export async function heldInAccounts(
  redis: Redis,
  keys: RedisKeys,
  provider: string,
  accounts: readonly string[],
  paymentIds: readonly string[],
): Promise<({ account: string; batchId: string } | undefined)[]> {
  if (accounts.length === 0 || paymentIds.length === 0) return paymentIds.map(() => undefined);
  const holderKeys = paymentIds.flatMap((id) => accounts.map((account) => keys.holder(provider, account, id)));
  const prefixes = accounts.map((account) => keys.paymentPrefix(provider, account));
  const held = (await scripted(redis).heldInAccounts(holderKeys.length, ...holderKeys, accounts.length, ...prefixes, ...paymentIds)) as string[];
  return held.map((found) => {
    if (found === '') return undefined;
    const at = found.indexOf(':');
    return { account: accounts[Number(found.slice(0, at)) - 1]!, batchId: found.slice(at + 1) };
  });
}

export async function settleUnrecordedClaim(
  redis: Redis,
  keys: RedisKeys,
  owner: { provider: string; account: string },
  claim: { batchId: string; paymentId: string; line: number; amountCents: number; jobExists: boolean },
): Promise<'released' | 'adopted' | 'recorded'> {
  const { batchId, paymentId } = claim;
  const entry = encodeBatchRow({ kind: 'payment', line: claim.line, paymentId });
  return (await scripted(redis).settleUnrecordedClaim(
    keys.batchClaims(batchId), keys.holder(owner.provider, owner.account, paymentId), keys.payment(owner.provider, owner.account, batchId, paymentId),
    keys.batch(batchId), keys.batchRows(batchId),
    batchId, paymentId, claim.jobExists ? '1' : '', entry, claim.amountCents, claim.line,
  )) as 'released' | 'adopted' | 'recorded';
}
