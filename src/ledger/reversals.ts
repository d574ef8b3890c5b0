import type { Redis } from 'ioredis';
import { type Actor, personHere } from '../audit/actor.js';
import { auditFields } from '../audit/audit-entry.js';
import type { LedgerKeys } from '../redis/keys.js';
import { NOW_MS, RECOUNT } from './payment-scripts.js';
import type { PaymentRef } from './payments.js';

/**
 * Reversals in the payment record (ledger/payments.ts), each transition one Lua script, so that of
 * any number of `stipend reverse` runs at once exactly one sends a reversal:
 *
 *   paid ──claim──▶ reversing ──▶ reversed           the provider gave the money back
 *                      │     └──▶ paid               refused or "retry later": nothing moved
 *                      └────────▶ reversal_unknown   the answer was lost, or the run was cut off
 *   reversal_unknown ──resolve──▶ reversed | paid    a person checked with the provider
 *
 * The claim is made right before the request leaves (after any rate-limit wait), like `sending`
 * for a payment. The batch's per-status counts follow every move. The payment's own fields
 * (reference, settled_at, …) are left as they were: it was paid, and then given back.
 */

export type ReversalSettlement =
  | { to: 'reversed'; reference: string; code: string; message: string }
  /** Nothing moved: the provider refused, or asked to try later. Back to paid, the answer kept. */
  | { to: 'paid'; definite: boolean; code: string; message: string }
  | { to: 'reversal_unknown'; code: string; message: string };

const scripts = {
  // paid → reversing, with Redis's clock (ms) at the claim, and its `reversed` audit entry. KEYS:
  // payment, batch, audit. ARGV: by, reason, now, then the entry's fields. Returns 'ok' or the status.
  claimReversal: `
    ${RECOUNT}
    ${NOW_MS}
    local current = redis.call('HGET', KEYS[1], 'status')
    if current ~= 'paid' then return current or 'missing' end
    redis.call('HDEL', KEYS[1], 'reversal_reference', 'reversal_code', 'reversal_message', 'reversal_settled_at', 'reversal_resolved_by', 'reversal_resolved_at')
    redis.call('HSET', KEYS[1], 'status', 'reversing', 'reversal_by', ARGV[1], 'reversal_reason', ARGV[2], 'reversal_requested_at', ARGV[3], 'reversal_ms', now_ms())
    recount(KEYS[2], 'paid', 'reversing', tonumber(redis.call('HGET', KEYS[1], 'amount_cents')))
    redis.call('XADD', KEYS[3], '*', unpack(ARGV, 4))
    return 'ok'`,
  // reversing → reversed | paid | reversal_unknown. A definite answer (reversed, refused) also
  // replaces a reversal_unknown, as a payment's does an unknown: a call thought lost reported back.
  // KEYS: payment, batch. ARGV: to, definite, reference, code, message, now. Returns 1 if recorded.
  settleReversal: `
    ${RECOUNT}
    local current = redis.call('HGET', KEYS[1], 'status')
    local upgrade = current == 'reversal_unknown' and ARGV[2] == '1'
    if current ~= 'reversing' and not upgrade then return 0 end
    redis.call('HSET', KEYS[1], 'status', ARGV[1], 'reversal_code', ARGV[4], 'reversal_message', ARGV[5], 'reversal_settled_at', ARGV[6])
    if ARGV[1] == 'reversed' then redis.call('HSET', KEYS[1], 'reversal_reference', ARGV[3]) end
    recount(KEYS[2], current, ARGV[1], tonumber(redis.call('HGET', KEYS[1], 'amount_cents')))
    return 1`,
  // reversing → reversal_unknown when the run that claimed it stopped mid-call: its claim is older,
  // by Redis's clock, than any call of it can last (ARGV[1] ms). Dated when the call left: when the
  // money came back, if it did. KEYS: payment, batch. ARGV: callMs, message.
  interruptReversal: `
    ${RECOUNT}
    ${NOW_MS}
    if redis.call('HGET', KEYS[1], 'status') ~= 'reversing' then return 0 end
    local claimed, claimed_ms = unpack(redis.call('HMGET', KEYS[1], 'reversal_requested_at', 'reversal_ms'))
    if (tonumber(claimed_ms) or 0) + tonumber(ARGV[1]) > now_ms() then return 0 end
    redis.call('HSET', KEYS[1], 'status', 'reversal_unknown', 'reversal_code', 'INTERRUPTED', 'reversal_message', ARGV[2], 'reversal_settled_at', claimed)
    recount(KEYS[2], 'reversing', 'reversal_unknown', tonumber(redis.call('HGET', KEYS[1], 'amount_cents')))
    return 1`,
  // A person's verdict on a reversal_unknown, with its `resolved` audit entry. reversal_settled_at
  // stays the time of the call: that is when the money came back, if it did. KEYS: payment, batch,
  // audit. ARGV: reversed|not-reversed, reference, by, now, then the entry's fields. Returns 'ok' or
  // the status.
  resolveReversal: `
    ${RECOUNT}
    local current = redis.call('HGET', KEYS[1], 'status')
    if current ~= 'reversal_unknown' then return current or 'missing' end
    local reversed = ARGV[1] == 'reversed'
    local new = reversed and 'reversed' or 'paid'
    redis.call('HSET', KEYS[1], 'status', new,
      'reversal_code', reversed and 'RESOLVED_REVERSED' or 'RESOLVED_NOT_REVERSED',
      'reversal_message', (reversed and 'settled by hand as reversed by ' or 'settled by hand as not reversed by ') .. ARGV[3],
      'reversal_resolved_by', ARGV[3], 'reversal_resolved_at', ARGV[4])
    if reversed then redis.call('HSET', KEYS[1], 'reversal_reference', ARGV[2]) end
    recount(KEYS[2], 'reversal_unknown', new, tonumber(redis.call('HGET', KEYS[1], 'amount_cents')))
    redis.call('XADD', KEYS[3], '*', unpack(ARGV, 5))
    return 'ok'`,
};

/** The scripts that record a person's decision also append it to the audit stream, their third key. */
const AUDITED: ReadonlySet<string> = new Set(['claimReversal', 'resolveReversal']);

type ReversalRedis = Redis & {
  claimReversal(payment: string, batch: string, audit: string, by: string, reason: string, now: string, ...entry: string[]): Promise<string>;
  settleReversal(payment: string, batch: string, to: string, definite: string, reference: string, code: string, message: string, now: string): Promise<number>;
  interruptReversal(payment: string, batch: string, callMs: string, message: string): Promise<number>;
  resolveReversal(payment: string, batch: string, audit: string, verdict: string, reference: string, by: string, now: string, ...entry: string[]): Promise<string>;
};

function withScripts(redis: Redis): ReversalRedis {
  const r = redis as ReversalRedis;
  if (typeof r.claimReversal !== 'function') {
    for (const [name, lua] of Object.entries(scripts)) redis.defineCommand(name, { numberOfKeys: AUDITED.has(name) ? 3 : 2, lua });
  }
  return r;
}

/** The reversals of one account's payments. */
export class ReversalLedger {
  private readonly redis: ReversalRedis;

  constructor(
    redis: Redis,
    private readonly keys: LedgerKeys,
    private readonly provider: string,
    private readonly account: string,
  ) {
    this.redis = withScripts(redis);
  }

  /**
   * paid → reversing, recording who (`by`, the name kept on the payment; `who`, the identity the audit
   * trail keeps) and why. Returns undefined when claimed, else the status that prevents it.
   */
  async claim(ref: PaymentRef, by: string, reason: string, who: Actor = personHere(by)): Promise<string | undefined> {
    const answer = await this.redis.claimReversal(...this.keysOf(ref), this.keys.audit(), by, reason, now(), ...auditFields('reversed', who, ref, `reversal asked for: ${reason}`));
    return answer === 'ok' ? undefined : answer;
  }

  async settle(ref: PaymentRef, settlement: ReversalSettlement): Promise<boolean> {
    const definite = settlement.to === 'reversed' || (settlement.to === 'paid' && settlement.definite);
    const reference = settlement.to === 'reversed' ? settlement.reference : '';
    return (await this.redis.settleReversal(...this.keysOf(ref), settlement.to, definite ? '1' : '0', reference, settlement.code, settlement.message, now())) === 1;
  }

  /** A reversal claimed longer than `callMs` ago (by Redis's clock) and still under way was cut off: reversal_unknown. */
  async interrupt(ref: PaymentRef, callMs: number): Promise<boolean> {
    const message = 'the reversal was cut off during the provider call; the money may have come back (check with the provider, then stipend resolve)';
    return (await this.redis.interruptReversal(...this.keysOf(ref), String(callMs), message)) === 1;
  }

  /** A person's verdict on a reversal_unknown (`by`, `who` as for claim). Returns undefined when recorded, else the status that prevents it. */
  async resolve(ref: PaymentRef, verdict: { reversed: string } | { notReversed: true }, by: string, who: Actor = personHere(by)): Promise<string | undefined> {
    const details = 'reversed' in verdict ? `reversal went through, reference ${verdict.reversed}` : 'reversal did not go through';
    const answer = await this.redis.resolveReversal(
      ...this.keysOf(ref), this.keys.audit(), 'reversed' in verdict ? 'reversed' : 'not-reversed', 'reversed' in verdict ? verdict.reversed : '', by, now(),
      ...auditFields('resolved', who, ref, details),
    );
    return answer === 'ok' ? undefined : answer;
  }

  private keysOf(ref: PaymentRef): [string, string] {
    return [this.keys.payment(this.provider, this.account, ref.batchId, ref.paymentId), this.keys.batch(ref.batchId)];
  }
}

const now = () => new Date().toISOString();
