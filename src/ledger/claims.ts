import { Cluster } from 'ioredis';
import type { RedisClient } from '../redis/connection.js';
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

/** A changed holder between the read and the script is rare (another batch claiming the same payment): a few tries settle it. */
export const TRIES = 20;

/**
 * Returns, per payment, undefined when this batch holds it (and will pay it), else the batch that
 * does. `otherAccounts`: the provider's other accounts whose holders count too.
 *
 * A holder is judged by its payment record, whose key names the holding batch: so the holders are
 * read first and the script is given every key it reads, compare-and-set on what was read. A
 * payment of an archived batch has no record: its compact holder (archive/) is read instead. On a
 * single Redis the other accounts' holders are checked in the same script. On a cluster they are
 * in other slots: each payment is first reserved for this account in the provider's slot, and only
 * what it reserves is claimed (claimAcrossSlots). `rememberMs`: how long a settled payment is
 * remembered (config rememberPaymentsDays), undefined for ever.
 */
export async function claimPayments(
  redis: RedisClient,
  keys: RedisKeys,
  owner: { provider: string; account: string },
  batchId: string,
  payments: NewPayment[],
  otherAccounts: readonly string[] = [],
  rememberMs?: number,
): Promise<(string | undefined)[]> {
  if (payments.length === 0) return [];
  if (otherAccounts.length > 0 && redis instanceof Cluster) return claimAcrossSlots(redis, keys, owner, batchId, payments, rememberMs);
  const { provider, account } = owner;
  const accounts = [account, ...otherAccounts];
  const args = payments.flatMap((p) => [p.line, p.paymentId, p.payee, p.amountCents, JSON.stringify(p.fields), p.participantId ?? '', p.reimbursement ? '1' : '']);
  for (let attempt = 1; ; attempt += 1) {
    const seen = await readHolders(redis, keys, provider, accounts, payments.map((p) => p.paymentId));
    const claimKeys = [
      keys.batch(provider, account, batchId), keys.batchClaims(provider, account, batchId),
      ...payments.flatMap((p, i) => [
        keys.payment(provider, account, batchId, p.paymentId),
        ...accounts.flatMap((name, j) => holderKeys(keys, provider, name, seen[i]![j]!, p.paymentId)),
      ]),
    ];
    const answer = await scripted(redis).claimPayments(claimKeys.length, ...claimKeys, payments.length, otherAccounts.length, batchId, provider, account, new Date().toISOString(), ...args, ...seen.flat());
    if (answer !== 'stale') return (answer as string[]).map((holder) => (holder === '' ? undefined : holder));
    if (attempt === TRIES) throw new Error(`the holders of batch ${batchId}'s payments kept changing while it claimed them (${TRIES} tries)`);
  }
}

/**
 * A reservation outlives the holders it stands for: they get rememberMs once their payment settles,
 * which may be weeks after the claim (an `unknown` row waits for a person).
 */
const RESERVATION_SLACK_MS = 90 * 86_400_000;

/**
 * The claim on a cluster, for a provider with other accounts: the payment ids are reserved for this
 * account first (the first account to reserve one keeps it, failed or not: stricter than one Redis,
 * where a failed payment frees its id for another account), then those it holds are claimed in its
 * own slot. A crash between the two leaves ids reserved and unclaimed: the batch's resumed enqueue
 * claims them, another account's batch finds them held.
 */
async function claimAcrossSlots(
  redis: RedisClient, keys: RedisKeys, owner: { provider: string; account: string }, batchId: string, payments: NewPayment[], rememberMs: number | undefined,
): Promise<(string | undefined)[]> {
  const reservations = payments.flatMap((p) => [keys.identity(owner.provider, p.paymentId), keys.archivedIdentities(owner.provider, p.paymentId)]);
  const lifetime = rememberMs === undefined ? '' : String(rememberMs + RESERVATION_SLACK_MS);
  const ids = payments.map((p) => p.paymentId);
  const reserved = (await scripted(redis).reserveIdentities(reservations.length, ...reservations, owner.account, batchId, lifetime, ...ids)) as string[];
  const ours = payments.filter((_, i) => reserved[i] === '');
  const claimed = await claimPayments(redis, keys, owner, batchId, ours);
  let next = 0;
  // Held elsewhere: the batch of the account that reserved it, as the row's holder.
  return reserved.map((held) => (held === '' ? claimed[next++] : held.slice(held.indexOf('/') + 1)));
}

/** Per payment id, the account (of `accounts`, all of `provider`) and batch that hold it, if any: one read per account. */
export async function heldInAccounts(
  redis: RedisClient,
  keys: RedisKeys,
  provider: string,
  accounts: readonly string[],
  paymentIds: readonly string[],
): Promise<({ account: string; batchId: string } | undefined)[]> {
  const found: ({ account: string; batchId: string } | undefined)[] = paymentIds.map(() => undefined);
  if (paymentIds.length === 0) return found;
  for (const account of accounts) {
    const held = await heldInAccount(redis, keys, provider, account, paymentIds);
    for (const [i, batchId] of held.entries()) if (batchId !== '' && found[i] === undefined) found[i] = { account, batchId };
  }
  return found;
}

async function heldInAccount(redis: RedisClient, keys: RedisKeys, provider: string, account: string, paymentIds: readonly string[]): Promise<string[]> {
  for (let attempt = 1; ; attempt += 1) {
    const seen = (await readHolders(redis, keys, provider, [account], paymentIds)).map(([holder]) => holder!);
    const heldKeys = paymentIds.flatMap((id, i) => holderKeys(keys, provider, account, seen[i]!, id));
    const answer = await scripted(redis).heldInAccounts(heldKeys.length, ...heldKeys, ...paymentIds.flatMap((id, i) => [seen[i]!, id]));
    if (answer !== 'stale') return answer as string[];
    if (attempt === TRIES) throw new Error(`the holders of ${provider}/${account}'s payments kept changing while they were read (${TRIES} tries)`);
  }
}

/** Per payment, the batch holding it in each account ('' for none), read in one round trip per account. */
async function readHolders(redis: RedisClient, keys: RedisKeys, provider: string, accounts: readonly string[], paymentIds: readonly string[]): Promise<string[][]> {
  const perAccount = await Promise.all(accounts.map((account) => redis.mget(paymentIds.map((id) => keys.holder(provider, account, id)))));
  return paymentIds.map((_, i) => perAccount.map((holders) => holders[i] ?? ''));
}

/**
 * The holder keys (holderKeys) of one payment in each of `accounts`, and the holder seen in each:
 * what a script given them compares, as the claim does, before it trusts what it reads.
 */
export async function seenHolders(redis: RedisClient, keys: RedisKeys, provider: string, accounts: readonly string[], paymentId: string): Promise<{ keys: string[]; seen: string[] }> {
  const [seen] = await readHolders(redis, keys, provider, accounts, [paymentId]);
  return { keys: accounts.flatMap((account, j) => holderKeys(keys, provider, account, seen![j]!, paymentId)), seen: seen! };
}

/**
 * What the scripts read of one account about a payment: its holder, the record of the batch seen
 * holding it (with none, the holder key itself stands in: a key of the same slot, never read), and
 * the bucket of the account's archived holders where an archived batch may hold it.
 */
function holderKeys(keys: RedisKeys, provider: string, account: string, holder: string, paymentId: string): string[] {
  const seenRecord = holder === '' ? keys.holder(provider, account, paymentId) : keys.payment(provider, account, holder, paymentId);
  return [keys.holder(provider, account, paymentId), seenRecord, keys.archivedHolders(provider, account, paymentId)];
}

export async function settleUnrecordedClaim(
  redis: RedisClient,
  keys: RedisKeys,
  owner: { provider: string; account: string },
  claim: { batchId: string; paymentId: string; line: number; amountCents: number; jobExists: boolean },
): Promise<'released' | 'adopted' | 'recorded'> {
  const { batchId, paymentId } = claim;
  const entry = encodeBatchRow({ kind: 'payment', line: claim.line, paymentId });
  return (await scripted(redis).settleUnrecordedClaim(
    keys.batchClaims(owner.provider, owner.account, batchId), keys.holder(owner.provider, owner.account, paymentId), keys.payment(owner.provider, owner.account, batchId, paymentId),
    keys.batch(owner.provider, owner.account, batchId), keys.batchRows(owner.provider, owner.account, batchId),
    batchId, paymentId, claim.jobExists ? '1' : '', entry, claim.amountCents, claim.line,
  )) as 'released' | 'adopted' | 'recorded';
}
