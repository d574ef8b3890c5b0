import type { Redis } from 'ioredis';
import type { LedgerKeys } from '../redis/keys.js';
import type { NewPayment } from './payments.js';

/**
 * Each provider field of a payment is its own hash field, named with this prefix (`f.cardId`), not
 * one JSON value: a record whose every value stays within Redis's hash-max-listpack-value (64 bytes
 * by default) is kept as a compact listpack, about a third of a hash table's size.
 */
export const PROVIDER_FIELD = 'f.';

/**
 * The batch that holds a payment identity, or nil: a holder whose payment moved nothing (failed,
 * declined) or whose record is gone holds nothing any more, and `self` never holds against itself.
 * A failed payment the provider answered paid after all (a conflict) still holds: it may have moved.
 * The record's key is the holding account's payment prefix, the holder and the payment id.
 */
const LIVE_HOLDER = `local function live_holder(holder_key, prefix, payment_id, self)
  local holder = redis.call('GET', holder_key)
  if not holder or holder == self then return nil end
  local status, conflict = unpack(redis.call('HMGET', prefix .. holder .. ':' .. payment_id, 'status', 'conflict_code'))
  if not status then return nil end
  if (status == 'failed' or status == 'declined') and not conflict then return nil end
  return holder
end`;

/**
 * Claims each payment's identity for a batch and records the payment (status queued). A payment
 * held by another batch of this account, or of one of the `m` other accounts given (the same
 * provider: the same payment must not be paid through two accounts), is not claimed. While the
 * batch is enqueuing, what it claims is listed in its claims set until its rows are recorded.
 * KEYS: batch, claims set, then per payment its holder key, its record key and its holder key in
 * each other account. ARGV: n, m, batchId, provider, account, now, this account's record key
 * prefix, the other accounts' prefixes, then per payment line, paymentId, payee, cents, fields
 * (JSON, kept one hash field each, see PROVIDER_FIELD), participant id ('' for none), reimbursement
 * ('1' or ''). Returns, per payment, '' when this batch holds it, else the batch that does.
 */
const CLAIM_PAYMENTS = `${LIVE_HOLDER}
local n, m = tonumber(ARGV[1]), tonumber(ARGV[2])
local batch = ARGV[3]
local out, claimed = {}, {}
for i = 1, n do
  local k = 2 + (i - 1) * (2 + m)
  local b = 7 + m + (i - 1) * 7
  local payment_id = ARGV[b + 2]
  local holder = live_holder(KEYS[k + 1], ARGV[7], payment_id, batch)
  for j = 1, m do
    holder = holder or live_holder(KEYS[k + 2 + j], ARGV[7 + j], payment_id, batch)
  end
  if holder then
    out[i] = holder
  else
    redis.call('SET', KEYS[k + 1], batch)
    if redis.call('EXISTS', KEYS[k + 2]) == 0 then
      local record = {'batch_id', batch, 'provider', ARGV[4], 'account', ARGV[5],
        'line', ARGV[b + 1], 'payment_id', payment_id, 'payee', ARGV[b + 3], 'amount_cents', ARGV[b + 4],
        'status', 'queued', 'attempts', '0', 'round', '0', 'submitted_at', ARGV[6]}
      for name, value in pairs(cjson.decode(ARGV[b + 5])) do table.insert(record, '${PROVIDER_FIELD}' .. name); table.insert(record, value) end
      if ARGV[b + 6] ~= '' then table.insert(record, 'participant_id'); table.insert(record, ARGV[b + 6]) end
      if ARGV[b + 7] ~= '' then table.insert(record, 'reimbursement'); table.insert(record, ARGV[b + 7]) end
      redis.call('HSET', KEYS[k + 2], unpack(record))
    end
    out[i] = ''
    claimed[#claimed + 1] = payment_id
  end
end
if #claimed > 0 and redis.call('HGET', KEYS[1], 'state') == 'enqueuing' then redis.call('SADD', KEYS[2], unpack(claimed)) end
return out`;

/**
 * A claim an abandoned enqueue made without recording its row (queue/abandon-enqueue.ts), settled
 * atomically. Released when the payment has no job and is still queued, never marked sending (a
 * job that ran and was removed since may have sent it): its holder (if still this batch) and its
 * record go, so a later manifest may pay it. Otherwise a job may pay it, or may have, any moment:
 * it is adopted as a row of the batch (after those recorded, in line order) and counted, and settles
 * as any other. The batch counts what it released. KEYS: claims set, holder, record, batch, rows. ARGV: batchId, paymentId, job exists
 * ('1' or ''), the row's entry, its cents, its line. Returns released | adopted | recorded (no
 * longer a claim to settle: its row was recorded meanwhile).
 */
const SETTLE_UNRECORDED_CLAIM = `if redis.call('SREM', KEYS[1], ARGV[2]) == 0 then return 'recorded' end
local status, epoch = unpack(redis.call('HMGET', KEYS[3], 'status', 'epoch'))
if ARGV[3] == '' and status == 'queued' and (tonumber(epoch) or 0) == 0 then
  if redis.call('GET', KEYS[2]) == ARGV[1] then redis.call('DEL', KEYS[2]) end
  redis.call('DEL', KEYS[3])
  redis.call('HINCRBY', KEYS[4], 'released', 1)
  return 'released'
end
redis.call('RPUSH', KEYS[5], ARGV[4])
redis.call('HINCRBY', KEYS[4], 'accepted', 1)
redis.call('HINCRBY', KEYS[4], 'accepted_cents', ARGV[5])
if tonumber(ARGV[6]) > tonumber(redis.call('HGET', KEYS[4], 'enqueued_line') or '0') then redis.call('HSET', KEYS[4], 'enqueued_line', ARGV[6]) end
return 'adopted'`;

/**
 * Which of these payments another account holds, changing nothing. KEYS: per payment, its holder
 * key in each of the m accounts. ARGV: m, the accounts' record key prefixes, then the payment ids.
 * Returns, per payment, '' or '<the account's index, from 1>:<the batch that holds it>'.
 */
const HELD_IN_ACCOUNTS = `${LIVE_HOLDER}
local m = tonumber(ARGV[1])
local out = {}
for i = 1, #ARGV - 1 - m do
  out[i] = ''
  for j = 1, m do
    local holder = live_holder(KEYS[(i - 1) * m + j], ARGV[1 + j], ARGV[1 + m + i], '')
    if holder then out[i] = j .. ':' .. holder; break end
  end
end
return out`;

type ClaimRedis = Redis & {
  claimPayments(...args: (string | number)[]): Promise<string[]>;
  heldInAccounts(...args: (string | number)[]): Promise<string[]>;
  settleUnrecordedClaim(...args: (string | number)[]): Promise<string>;
};

function withScripts(redis: Redis): ClaimRedis {
  const r = redis as ClaimRedis;
  if (typeof r.claimPayments !== 'function') {
    redis.defineCommand('claimPayments', { lua: CLAIM_PAYMENTS });
    redis.defineCommand('heldInAccounts', { lua: HELD_IN_ACCOUNTS });
    redis.defineCommand('settleUnrecordedClaim', { lua: SETTLE_UNRECORDED_CLAIM, numberOfKeys: 5 });
  }
  return r;
}

/**
 * Returns, per payment, undefined when this batch holds it (and will pay it), else the batch that
 * does. `otherAccounts`: the provider's other accounts whose holders count too.
 */
export async function claimPayments(
  redis: Redis,
  keys: LedgerKeys,
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
  const holders = await withScripts(redis).claimPayments(claimKeys.length, ...claimKeys, payments.length, otherAccounts.length, batchId, provider, account, new Date().toISOString(), ...prefixes, ...args);
  return holders.map((holder) => (holder === '' ? undefined : holder));
}

/** Per payment id, the account (of `accounts`, all of `provider`) and batch that hold it, if any. */
export async function heldInAccounts(
  redis: Redis,
  keys: LedgerKeys,
  provider: string,
  accounts: readonly string[],
  paymentIds: readonly string[],
): Promise<({ account: string; batchId: string } | undefined)[]> {
  if (accounts.length === 0 || paymentIds.length === 0) return paymentIds.map(() => undefined);
  const holderKeys = paymentIds.flatMap((id) => accounts.map((account) => keys.holder(provider, account, id)));
  const prefixes = accounts.map((account) => keys.paymentPrefix(provider, account));
  const held = await withScripts(redis).heldInAccounts(holderKeys.length, ...holderKeys, accounts.length, ...prefixes, ...paymentIds);
  return held.map((found) => {
    if (found === '') return undefined;
    const at = found.indexOf(':');
    return { account: accounts[Number(found.slice(0, at)) - 1]!, batchId: found.slice(at + 1) };
  });
}

export async function settleUnrecordedClaim(
  redis: Redis,
  keys: LedgerKeys,
  owner: { provider: string; account: string },
  claim: { batchId: string; paymentId: string; line: number; amountCents: number; jobExists: boolean },
): Promise<'released' | 'adopted' | 'recorded'> {
  const { batchId, paymentId } = claim;
  const entry = JSON.stringify({ s: 'payment', l: claim.line, p: paymentId });
  return (await withScripts(redis).settleUnrecordedClaim(
    keys.batchClaims(batchId), keys.holder(owner.provider, owner.account, paymentId), keys.payment(owner.provider, owner.account, batchId, paymentId),
    keys.batch(batchId), keys.batchRows(batchId),
    batchId, paymentId, claim.jobExists ? '1' : '', entry, claim.amountCents, claim.line,
  )) as 'released' | 'adopted' | 'recorded';
}
