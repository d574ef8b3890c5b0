import type { Redis } from 'ioredis';
import type { LedgerKeys } from './keys.js';
import type { NewPayment } from './payments.js';

/**
 * Claims each payment's identity for a batch and records the payment (status queued). KEYS, per
 * payment: its holder key and its record key. ARGV: n, batchId, provider, account, now, record key
 * prefix, then per payment line, paymentId, payee, cents, fields, participant id ('' for none),
 * reimbursement ('1' or ''). Returns, per payment, '' when this batch holds it, else the batch that
 * does.
 */
const CLAIM_PAYMENTS = `local n = tonumber(ARGV[1])
local batch = ARGV[2]
local out = {}
for i = 1, n do
  local holderKey, recordKey = KEYS[2 * i - 1], KEYS[2 * i]
  local b = 6 + (i - 1) * 7
  local holder = redis.call('GET', holderKey)
  if holder and holder ~= batch then
    local status = redis.call('HGET', ARGV[6] .. holder .. ':' .. ARGV[b + 2], 'status')
    -- Nothing moved for a failed or declined payment (or its record is gone): it may be paid now.
    if status == 'failed' or status == 'declined' or not status then holder = nil end
  end
  if holder and holder ~= batch then
    out[i] = holder
  else
    redis.call('SET', holderKey, batch)
    if redis.call('EXISTS', recordKey) == 0 then
      local record = {'batch_id', batch, 'provider', ARGV[3], 'account', ARGV[4],
        'line', ARGV[b + 1], 'payment_id', ARGV[b + 2], 'payee', ARGV[b + 3], 'amount_cents', ARGV[b + 4],
        'fields', ARGV[b + 5], 'status', 'queued', 'attempts', '0', 'round', '0', 'submitted_at', ARGV[5]}
      if ARGV[b + 6] ~= '' then table.insert(record, 'participant_id'); table.insert(record, ARGV[b + 6]) end
      if ARGV[b + 7] ~= '' then table.insert(record, 'reimbursement'); table.insert(record, ARGV[b + 7]) end
      redis.call('HSET', recordKey, unpack(record))
    end
    out[i] = ''
  end
end
return out`;

type ClaimRedis = Redis & { claimPayments(...args: (string | number)[]): Promise<string[]> };

/** Returns, per payment, undefined when this batch holds it (and will pay it), else the batch that does. */
export async function claimPayments(
  redis: Redis,
  keys: LedgerKeys,
  owner: { provider: string; account: string },
  batchId: string,
  payments: NewPayment[],
): Promise<(string | undefined)[]> {
  if (payments.length === 0) return [];
  const r = redis as ClaimRedis;
  if (typeof r.claimPayments !== 'function') redis.defineCommand('claimPayments', { lua: CLAIM_PAYMENTS });
  const claimKeys = payments.flatMap((p) => [keys.holder(owner.provider, owner.account, p.paymentId), keys.payment(owner.provider, owner.account, batchId, p.paymentId)]);
  const args = payments.flatMap((p) => [p.line, p.paymentId, p.payee, p.amountCents, JSON.stringify(p.fields), p.participantId ?? '', p.reimbursement ? '1' : '']);
  const prefix = keys.paymentPrefix(owner.provider, owner.account);
  const holders = await r.claimPayments(claimKeys.length, ...claimKeys, payments.length, batchId, owner.provider, owner.account, new Date().toISOString(), prefix, ...args);
  return holders.map((holder) => (holder === '' ? undefined : holder));
}
