import type { Redis } from 'ioredis';
import { z } from 'zod';
import { claimPayments } from './claims.js';
import type { LedgerKeys } from './keys.js';

/**
 * The payment record: one Redis hash per payment of a batch, written only through the Lua scripts
 * below so that every transition is atomic across worker processes.
 *
 *   queued ──▶ sending ──▶ paid | declined | failed | unknown
 *      ▲          │                            │        │
 *      └──────────┘ retryable                  │        └─ resolve: paid, or failed (not paid)
 *      └───────────────────────────────────────┘ retry (a failed payment, nothing applied)
 *
 * `sending` is written before every provider call. Finding it on a later run means the previous
 * run stopped in the middle of a call: the outcome is in doubt.
 *
 * A paid payment can then be given back (`stipend reverse`, see ledger/reversals.ts):
 *
 *   paid ──▶ reversing ──▶ reversed | paid (refused: nothing moved) | reversal_unknown
 *
 * A payment identity (account + payment id) is held by one batch at a time (LedgerKeys.holder): a
 * later batch with the same payment does not pay it while the holder's payment is paid, in flight,
 * unknown or reversed (a person gave it back on purpose); it may when that payment failed or was
 * declined (nothing moved).
 */

/** A paid payment being given back, given back, or in doubt about it: final for paying, never sent again. */
export const REVERSAL_STATUSES = ['reversing', 'reversed', 'reversal_unknown'] as const;
export const FINAL_STATUSES = ['paid', 'declined', 'failed', 'unknown', ...REVERSAL_STATUSES] as const;
export const paymentStatus = z.enum(['queued', 'sending', ...FINAL_STATUSES]);
export type PaymentStatus = z.infer<typeof paymentStatus>;
export type FinalStatus = (typeof FINAL_STATUSES)[number];

const count = z.coerce.number().int();
export const paymentRecord = z.object({
  batch_id: z.string(),
  line: count,
  provider: z.string(),
  account: z.string(),
  payment_id: z.string(),
  payee: z.string(),
  amount_cents: count,
  status: paymentStatus,
  attempts: count,
  /** How many times `stipend retry` sent this payment round again (its job id changes each time). */
  round: count.default(0),
  submitted_at: z.string(),
  sending_at: z.string().optional(),
  settled_at: z.string().optional(),
  reference: z.string().optional(),
  code: z.string().optional(),
  message: z.string().optional(),
  /** Set once any call's outcome was unknown: such a row can never end as plain `failed`. */
  may_have_applied: z.literal('1').optional(),
  /**
   * A `paid` answer the ledger could not take (it came after a person's not-paid verdict, or a
   * second one with another reference): kept here, the status left as it was, for a person to see.
   */
  conflict_code: z.string().optional(),
  conflict_reference: z.string().optional(),
  conflict_message: z.string().optional(),
  conflict_at: z.string().optional(),
  /** The provider fields as validated from the manifest (JSON): what a retry sends again. */
  fields: z.string().transform((json) => JSON.parse(json) as Record<string, string>),
  /** The key every call for this payment is sent with (see PaymentInstruction.idempotencyKey). */
  idem_key: z.string().optional(),
  /** The manifest's participant_id: the person, across providers, for the tax export. */
  participant_id: z.string().optional(),
  /** The manifest marked the payment a reimbursement (not taxable income). */
  reimbursement: z.literal('1').optional(),
  /** Who settled an unknown payment by hand, and when (`stipend resolve`). */
  resolved_by: z.string().optional(),
  resolved_at: z.string().optional(),
  /** The latest reversal asked for (ledger/reversals.ts): who, why, when it left, when it settled. */
  reversal_by: z.string().optional(),
  reversal_reason: z.string().optional(),
  reversal_requested_at: z.string().optional(),
  reversal_settled_at: z.string().optional(),
  /** The provider's id for the reversal, and what it answered (kept when it refused). */
  reversal_reference: z.string().optional(),
  reversal_code: z.string().optional(),
  reversal_message: z.string().optional(),
  /** Who settled a reversal_unknown by hand, and when (`stipend resolve --reversed | --not-reversed`). */
  reversal_resolved_by: z.string().optional(),
  reversal_resolved_at: z.string().optional(),
});
export type PaymentRecord = z.infer<typeof paymentRecord>;

/** What a worker checks before each attempt: a few fields of the record, read without the rest. */
export interface PaymentStanding {
  status: PaymentStatus;
  sendingAt: string | undefined;
  mayHaveApplied: boolean;
  /** The key kept for this payment, if it has one yet (see keepKey). */
  idempotencyKey: string | undefined;
}

/** A payment of a batch: what every transition is addressed to. */
export interface PaymentRef {
  batchId: string;
  paymentId: string;
}

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

const FINAL_SET = `local final = {${FINAL_STATUSES.map((s) => `${s}=true`).join(', ')}}`;
// Moves a settled payment's count and cents from one status to another on its batch.
export const RECOUNT = `
  local function recount(batch, from, to, cents)
    if from then
      redis.call('HINCRBY', batch, 'n_' .. from, -1)
      redis.call('HINCRBY', batch, 'c_' .. from, -cents)
    end
    if to then
      redis.call('HINCRBY', batch, 'n_' .. to, 1)
      redis.call('HINCRBY', batch, 'c_' .. to, cents)
    end
    if from and not to then redis.call('HINCRBY', batch, 'final', -1) end
    if to and not from then redis.call('HINCRBY', batch, 'final', 1) end
  end`;

// A call is about to leave: recorded with when, and with the key it carries (a key kept earlier stays).
const MARK_SENDING = `
  local function mark_sending(payment, now, idempotency_key)
    redis.call('HSET', payment, 'status', 'sending', 'sending_at', now)
    redis.call('HSETNX', payment, 'idem_key', idempotency_key)
    redis.call('HINCRBY', payment, 'attempts', 1)
  end`;

const scripts: Record<string, { numberOfKeys?: number; lua: string }> = {
  // ARGV: now, doubtResolvable, idempotency key. Returns ready | ready-in-doubt | in-doubt | final |
  // missing. The key the call is sent with is recorded with it.
  beginSending: {
    numberOfKeys: 1,
    lua: `
      ${FINAL_SET}
      ${MARK_SENDING}
      local status = redis.call('HGET', KEYS[1], 'status')
      if not status then return 'missing' end
      if final[status] then return 'final' end
      if status == 'sending' then
        redis.call('HSET', KEYS[1], 'may_have_applied', '1')
        if ARGV[2] ~= '1' then return 'in-doubt' end
      end
      mark_sending(KEYS[1], ARGV[1], ARGV[3])
      if redis.call('HGET', KEYS[1], 'may_have_applied') == '1' then return 'ready-in-doubt' end
      return 'ready'`,
  },
  // The common case in one step: a payment queued with nothing in doubt (its first call, or a retry
  // after an answer that applied nothing) is marked sending. Anything else changes nothing and
  // returns 'not-fresh': the worker then reads its standing and goes the careful way (beginSending).
  // ARGV: now, idempotency key.
  beginFreshSending: {
    numberOfKeys: 1,
    lua: `
      ${MARK_SENDING}
      local status, doubt = unpack(redis.call('HMGET', KEYS[1], 'status', 'may_have_applied'))
      if status ~= 'queued' or doubt == '1' then return 'not-fresh' end
      mark_sending(KEYS[1], ARGV[1], ARGV[2])
      return 'ready'`,
  },
  // A call may be under way until timeoutMs after sending_at: a repeat within an attempt moves it on.
  touchSending: {
    numberOfKeys: 1,
    lua: `
      if redis.call('HGET', KEYS[1], 'status') == 'sending' then redis.call('HSET', KEYS[1], 'sending_at', ARGV[1]) end
      return 1`,
  },
  // Keeps the first key offered for a payment and returns the kept one.
  keepKey: {
    numberOfKeys: 1,
    lua: `
      redis.call('HSETNX', KEYS[1], 'idem_key', ARGV[1])
      return redis.call('HGET', KEYS[1], 'idem_key')`,
  },
  // sending → queued after an outcome that applied nothing (or, with ARGV[3]='1', might have and
  // may safely be resent). ARGV: code, message, mayHaveApplied.
  requeuePayment: {
    numberOfKeys: 1,
    lua: `
      if redis.call('HGET', KEYS[1], 'status') ~= 'sending' then return 0 end
      redis.call('HSET', KEYS[1], 'status', 'queued', 'code', ARGV[1], 'message', ARGV[2])
      if ARGV[3] == '1' then redis.call('HSET', KEYS[1], 'may_have_applied', '1') end
      return 1`,
  },
  // Sets the final status once and counts it on the batch. A later definite answer (paid, declined)
  // may replace an in-doubt unknown: a call that was thought lost can still report back. Status
  // 'abandoned' (the job ended without an outcome) becomes unknown if a call may have applied, else
  // failed. Once final, the identity is remembered for ARGV[6] ms (empty: forever).
  // KEYS: payment, batch, holder. ARGV: status, reference, code, message, now, memoryMs, batchId.
  finalizePayment: {
    numberOfKeys: 3,
    lua: `
      ${FINAL_SET}
      ${RECOUNT}
      local current = redis.call('HGET', KEYS[1], 'status')
      if not current then return 0 end
      local new = ARGV[1]
      if new == 'abandoned' then
        local doubt = current == 'sending' or redis.call('HGET', KEYS[1], 'may_have_applied') == '1'
        new = doubt and 'unknown' or 'failed'
      end
      local upgrade = current == 'unknown' and (new == 'paid' or new == 'declined')
      if final[current] and not upgrade then return 0 end
      local cents = tonumber(redis.call('HGET', KEYS[1], 'amount_cents'))
      redis.call('HSET', KEYS[1], 'status', new, 'reference', ARGV[2], 'code', ARGV[3], 'message', ARGV[4], 'settled_at', ARGV[5])
      if new == 'unknown' then redis.call('HSET', KEYS[1], 'may_have_applied', '1') end
      recount(KEYS[2], upgrade and current or nil, new, cents)
      if ARGV[6] ~= '' and redis.call('GET', KEYS[3]) == ARGV[7] then redis.call('PEXPIRE', KEYS[3], ARGV[6]) end
      return 1`,
  },
  // A person settles an unknown payment: paid (with the provider's reference) or not paid, which
  // makes it a failed payment that `retry` may send again. KEYS: payment, batch.
  // ARGV: paid|not-paid, reference, by, now. Returns 'ok' or the payment's status.
  resolvePayment: {
    numberOfKeys: 2,
    lua: `
      ${RECOUNT}
      local current = redis.call('HGET', KEYS[1], 'status')
      if current ~= 'unknown' then return current or 'missing' end
      local cents = tonumber(redis.call('HGET', KEYS[1], 'amount_cents'))
      local new = ARGV[1] == 'paid' and 'paid' or 'failed'
      local message = ARGV[1] == 'paid' and ('settled by hand as paid by ' .. ARGV[3]) or ('settled by hand as not paid by ' .. ARGV[3])
      redis.call('HSET', KEYS[1], 'status', new, 'code', ARGV[1] == 'paid' and 'RESOLVED_PAID' or 'RESOLVED_NOT_PAID',
        'message', message, 'resolved_by', ARGV[3], 'resolved_at', ARGV[4], 'settled_at', ARGV[4])
      if ARGV[1] == 'paid' then redis.call('HSET', KEYS[1], 'reference', ARGV[2]) end
      -- The person checked with the provider: nothing is in doubt any more.
      redis.call('HDEL', KEYS[1], 'may_have_applied')
      recount(KEYS[2], 'unknown', new, cents)
      return 'ok'`,
  },
  // A failed payment (nothing applied) goes round again: queued, under a new round number, if its
  // batch still holds the identity. KEYS: payment, batch, holder. ARGV: batchId.
  // Returns the new round, or the status / 'held:<batch>' that prevents it.
  retryPayment: {
    numberOfKeys: 3,
    lua: `
      ${RECOUNT}
      local current = redis.call('HGET', KEYS[1], 'status')
      if current ~= 'failed' then return current or 'missing' end
      local holder = redis.call('GET', KEYS[3])
      if holder and holder ~= ARGV[1] then return 'held:' .. holder end
      redis.call('SET', KEYS[3], ARGV[1])
      local cents = tonumber(redis.call('HGET', KEYS[1], 'amount_cents'))
      redis.call('HSET', KEYS[1], 'status', 'queued')
      redis.call('HDEL', KEYS[1], 'settled_at')
      recount(KEYS[2], 'failed', nil, cents)
      return tostring(redis.call('HINCRBY', KEYS[1], 'round', 1))`,
  },
};

type ScriptRedis = Redis & {
  beginSending(key: string, now: string, doubtResolvable: string, idempotencyKey: string): Promise<string>;
  beginFreshSending(key: string, now: string, idempotencyKey: string): Promise<string>;
  keepKey(key: string, idempotencyKey: string): Promise<string>;
  touchSending(key: string, now: string): Promise<number>;
  requeuePayment(key: string, code: string, message: string, mayHaveApplied: string): Promise<number>;
  finalizePayment(...args: string[]): Promise<number>;
  resolvePayment(...args: string[]): Promise<string>;
  retryPayment(...args: string[]): Promise<string>;
};

function withScripts(redis: Redis): ScriptRedis {
  const r = redis as ScriptRedis;
  if (typeof r.beginSending !== 'function') {
    for (const [name, script] of Object.entries(scripts)) redis.defineCommand(name, script);
  }
  return r;
}

/**
 * ready: send. ready-in-doubt: an earlier call may have applied; settle that first (look it up, or
 * resend with the same key). in-doubt: the same, but the provider offers no way: a person decides.
 */
export type SendPermission = 'ready' | 'ready-in-doubt' | 'in-doubt' | 'final' | 'missing';

/** The ledger's view of the payments of one account. */
export class PaymentLedger {
  private readonly redis: ScriptRedis;

  constructor(
    redis: Redis,
    private readonly keys: LedgerKeys,
    private readonly provider: string,
    private readonly account: string,
    /** How long a settled payment's identity is remembered against re-drops; undefined: forever. */
    private readonly memoryMs?: number,
  ) {
    this.redis = withScripts(redis);
  }

  key(ref: PaymentRef): string {
    return this.keys.payment(this.provider, this.account, ref.batchId, ref.paymentId);
  }

  /** Returns, per payment, undefined when this batch holds it (and will pay it), else the batch that does. */
  async claim(batchId: string, payments: NewPayment[]): Promise<(string | undefined)[]> {
    return claimPayments(this.redis, this.keys, { provider: this.provider, account: this.account }, batchId, payments);
  }

  /**
   * Call right before every request that can move money; the answer says whether it may go. With
   * `doubtResolvable`, a payment cut off mid-call may be taken up again (ready-in-doubt). The key
   * the request carries is recorded (a key kept earlier stays).
   */
  async beginSending(ref: PaymentRef, doubtResolvable: boolean, idempotencyKey = ref.paymentId): Promise<SendPermission> {
    return (await this.redis.beginSending(this.key(ref), now(), doubtResolvable ? '1' : '0', idempotencyKey)) as SendPermission;
  }

  /**
   * beginSending for a payment that is simply queued (nothing in doubt, no other run on it), without
   * reading it first: 'ready', or 'not-fresh' with nothing changed, when its standing needs a look.
   */
  async beginFreshSending(ref: PaymentRef, idempotencyKey = ref.paymentId): Promise<'ready' | 'not-fresh'> {
    return (await this.redis.beginFreshSending(this.key(ref), now(), idempotencyKey)) as 'ready' | 'not-fresh';
  }

  /** A request repeated within the same attempt (after a refusal that applied nothing) is leaving now. */
  async touchSending(ref: PaymentRef): Promise<void> {
    await this.redis.touchSending(this.key(ref), now());
  }

  /** Undefined when the payment has no record. */
  async standing(ref: PaymentRef): Promise<PaymentStanding | undefined> {
    const [status, sendingAt, mayHaveApplied, idempotencyKey] = await this.redis.hmget(this.key(ref), 'status', 'sending_at', 'may_have_applied', 'idem_key');
    if (status === null) return undefined;
    return { status: paymentStatus.parse(status), sendingAt: sendingAt ?? undefined, mayHaveApplied: mayHaveApplied === '1', idempotencyKey: idempotencyKey ?? undefined };
  }

  /** Keeps `key` unless the payment already has one; returns the key kept (the first one wins). */
  async keepKey(ref: PaymentRef, key: string): Promise<string> {
    return this.redis.keepKey(this.key(ref), key);
  }

  async requeue(ref: PaymentRef, code: string, message: string, mayHaveApplied: boolean): Promise<void> {
    await this.redis.requeuePayment(this.key(ref), code, message, mayHaveApplied ? '1' : '0');
  }

  /** `abandoned`: the job ended without an outcome; unknown if a call may have applied, else failed. */
  async finalize(ref: PaymentRef, result: { status: FinalStatus | 'abandoned'; reference?: string; code: string; message: string }): Promise<boolean> {
    const recorded = await this.redis.finalizePayment(
      this.key(ref), this.keys.batch(ref.batchId), this.holderKey(ref.paymentId),
      result.status, result.reference ?? '', result.code, result.message, now(), this.memoryMs === undefined ? '' : String(this.memoryMs), ref.batchId,
    );
    return recorded === 1;
  }

  /** A person's verdict on an unknown payment. Returns undefined when done, else why not. */
  async resolve(ref: PaymentRef, verdict: { paid: string } | { notPaid: true }, by: string): Promise<string | undefined> {
    const answer = await this.redis.resolvePayment(this.key(ref), this.keys.batch(ref.batchId), 'paid' in verdict ? 'paid' : 'not-paid', 'paid' in verdict ? verdict.paid : '', by, now());
    return answer === 'ok' ? undefined : `it is ${answer}, not unknown`;
  }

  /** Sends a failed payment round again. Returns the new round, or why it cannot go. */
  async retry(ref: PaymentRef): Promise<{ round: number } | { refused: string }> {
    const answer = await this.redis.retryPayment(this.key(ref), this.keys.batch(ref.batchId), this.holderKey(ref.paymentId), ref.batchId);
    if (/^\d+$/.test(answer)) return { round: Number(answer) };
    return { refused: answer.startsWith('held:') ? `batch ${answer.slice(5)} now holds this payment` : `it is ${answer}, not failed` };
  }

  async get(ref: PaymentRef): Promise<PaymentRecord | undefined> {
    return parsePaymentRecord(await this.redis.hgetall(this.key(ref)));
  }

  private holderKey(paymentId: string): string {
    return this.keys.holder(this.provider, this.account, paymentId);
  }
}

export function parsePaymentRecord(hash: Record<string, string>): PaymentRecord | undefined {
  return Object.keys(hash).length === 0 ? undefined : paymentRecord.parse(hash);
}

const now = () => new Date().toISOString();
