import type { Redis } from 'ioredis';
import { z } from 'zod';
import type { LedgerKeys } from './keys.js';

/**
 * The payment record: one Redis hash per payment identity (account + payment id), written only
 * through the Lua scripts below so that every transition is atomic across worker processes.
 *
 *   queued ──▶ sending ──▶ paid | declined | failed | unknown
 *      ▲          │
 *      └──────────┘  retryable (nothing applied): back to queued for the next attempt
 *
 * `sending` is written before every provider call. Finding it on a later run means the previous
 * run stopped in the middle of a call: the outcome is in doubt.
 */

export const FINAL_STATUSES = ['paid', 'declined', 'failed', 'unknown'] as const;
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
  submitted_at: z.string(),
  sending_at: z.string().optional(),
  settled_at: z.string().optional(),
  reference: z.string().optional(),
  code: z.string().optional(),
  message: z.string().optional(),
  /** Set once any call's outcome was unknown: such a row can never end as plain `failed`. */
  may_have_applied: z.literal('1').optional(),
  /** The key every call for this payment is sent with (see PaymentInstruction.idempotencyKey). */
  idem_key: z.string().optional(),
});
export type PaymentRecord = z.infer<typeof paymentRecord>;

export interface NewPayment {
  line: number;
  paymentId: string;
  payee: string;
  amountCents: number;
}

const FINAL_SET = `local final = {paid=true, declined=true, failed=true, unknown=true}`;

const scripts: Record<string, { numberOfKeys?: number; lua: string }> = {
  // Records each payment unless its identity is already recorded. Returns, per payment, '' when it
  // was claimed now, else the batch that holds it (the caller's own batch after an interrupted run).
  // Called with the number of keys first (no numberOfKeys): one key per payment of the chunk.
  claimPayments: {
    lua: `
      local n = tonumber(ARGV[1])
      local out = {}
      for i = 1, n do
        local b = 5 + (i - 1) * 4
        local holder = redis.call('HGET', KEYS[i], 'batch_id')
        if holder then
          out[i] = holder
        else
          redis.call('HSET', KEYS[i], 'batch_id', ARGV[2], 'provider', ARGV[3], 'account', ARGV[4],
            'line', ARGV[b + 1], 'payment_id', ARGV[b + 2], 'payee', ARGV[b + 3], 'amount_cents', ARGV[b + 4],
            'status', 'queued', 'attempts', '0', 'submitted_at', ARGV[5])
          out[i] = ''
        end
      end
      return out`,
  },
  // ARGV: now, doubtResolvable. Returns ready | ready-in-doubt | in-doubt | final | missing.
  // `sending` found means the last run stopped mid-call: its outcome is in doubt.
  beginSending: {
    numberOfKeys: 1,
    lua: `
      ${FINAL_SET}
      local status = redis.call('HGET', KEYS[1], 'status')
      if not status then return 'missing' end
      if final[status] then return 'final' end
      if status == 'sending' then
        redis.call('HSET', KEYS[1], 'may_have_applied', '1')
        if ARGV[2] ~= '1' then return 'in-doubt' end
      end
      redis.call('HSET', KEYS[1], 'status', 'sending', 'sending_at', ARGV[1])
      redis.call('HINCRBY', KEYS[1], 'attempts', 1)
      if redis.call('HGET', KEYS[1], 'may_have_applied') == '1' then return 'ready-in-doubt' end
      return 'ready'`,
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
  // failed. KEYS: payment, batch. ARGV: status, reference, code, message, now. Returns 1 if recorded.
  finalizePayment: {
    numberOfKeys: 2,
    lua: `
      ${FINAL_SET}
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
      if upgrade then
        redis.call('HINCRBY', KEYS[2], 'n_' .. current, -1)
        redis.call('HINCRBY', KEYS[2], 'c_' .. current, -cents)
      else
        redis.call('HINCRBY', KEYS[2], 'final', 1)
      end
      redis.call('HINCRBY', KEYS[2], 'n_' .. new, 1)
      redis.call('HINCRBY', KEYS[2], 'c_' .. new, cents)
      return 1`,
  },
};

type ScriptRedis = Redis & {
  claimPayments(...args: (string | number)[]): Promise<string[]>;
  beginSending(key: string, now: string, doubtResolvable: string): Promise<string>;
  keepKey(key: string, idempotencyKey: string): Promise<string>;
  requeuePayment(key: string, code: string, message: string, mayHaveApplied: string): Promise<number>;
  finalizePayment(paymentKey: string, batchKey: string, status: string, reference: string, code: string, message: string, now: string): Promise<number>;
};

function withScripts(redis: Redis): ScriptRedis {
  const r = redis as ScriptRedis;
  if (typeof r.claimPayments !== 'function') {
    for (const [name, script] of Object.entries(scripts)) redis.defineCommand(name, script);
  }
  return r;
}

/**
 * ready: send. ready-in-doubt: an earlier call may have applied; settle that first (look it up, or
 * resend with the same key). in-doubt: the same, but the provider offers no way: a person decides.
 */
export type SendPermission = 'ready' | 'ready-in-doubt' | 'in-doubt' | 'final' | 'missing';

/** The ledger's view of payments for one account. */
export class PaymentLedger {
  private readonly redis: ScriptRedis;

  constructor(
    redis: Redis,
    private readonly keys: LedgerKeys,
    private readonly provider: string,
    private readonly account: string,
  ) {
    this.redis = withScripts(redis);
  }

  key(paymentId: string): string {
    return this.keys.payment(this.provider, this.account, paymentId);
  }

  /** Returns, per payment, undefined when claimed for this batch, else the batch already holding it. */
  async claim(batchId: string, payments: NewPayment[]): Promise<(string | undefined)[]> {
    if (payments.length === 0) return [];
    const args = payments.flatMap((p) => [p.line, p.paymentId, p.payee, p.amountCents]);
    const holders = await this.redis.claimPayments(
      payments.length,
      ...payments.map((p) => this.key(p.paymentId)),
      payments.length, batchId, this.provider, this.account, now(), ...args,
    );
    return holders.map((holder) => (holder === '' || holder === batchId ? undefined : holder));
  }

  /**
   * Call before every provider call; the answer says whether the call may be made. With
   * `doubtResolvable`, a payment cut off mid-call may be taken up again (ready-in-doubt).
   */
  async beginSending(paymentId: string, doubtResolvable: boolean): Promise<SendPermission> {
    return (await this.redis.beginSending(this.key(paymentId), now(), doubtResolvable ? '1' : '0')) as SendPermission;
  }

  /** The idempotency key kept for this payment, if it has one yet. */
  async keptKey(paymentId: string): Promise<string | undefined> {
    return (await this.redis.hget(this.key(paymentId), 'idem_key')) ?? undefined;
  }

  /** Keeps `key` unless the payment already has one; returns the key kept (the first one wins). */
  async keepKey(paymentId: string, key: string): Promise<string> {
    return this.redis.keepKey(this.key(paymentId), key);
  }

  async requeue(paymentId: string, code: string, message: string, mayHaveApplied: boolean): Promise<void> {
    await this.redis.requeuePayment(this.key(paymentId), code, message, mayHaveApplied ? '1' : '0');
  }

  /** `abandoned`: the job ended without an outcome; unknown if a call may have applied, else failed. */
  async finalize(batchKey: string, paymentId: string, result: { status: FinalStatus | 'abandoned'; reference?: string; code: string; message: string }): Promise<boolean> {
    const recorded = await this.redis.finalizePayment(this.key(paymentId), batchKey, result.status, result.reference ?? '', result.code, result.message, now());
    return recorded === 1;
  }

  async get(paymentId: string): Promise<PaymentRecord | undefined> {
    return parsePaymentRecord(await this.redis.hgetall(this.key(paymentId)));
  }
}

export function parsePaymentRecord(hash: Record<string, string>): PaymentRecord | undefined {
  return Object.keys(hash).length === 0 ? undefined : paymentRecord.parse(hash);
}

const now = () => new Date().toISOString();
