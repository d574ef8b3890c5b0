import type { RedisClient } from '../redis/connection.js';
import { type Actor, recordedName } from '../audit/actor.js';
import { auditFields } from '../audit/audit-entry.js';
import type { RedisKeys } from '../redis/keys.js';
import { scripted, type ScriptedRedis } from '../redis/scripts.js';
import { type PaymentRef, withNote } from './payments.js';

/**
 * Reversals in the payment record (ledger/payments.ts), each transition one Lua script in
 * redis/lua/ (claimReversal, settleReversal, interruptReversal, resolveReversal), so that of any
 * number of `stipend reverse` runs at once exactly one sends a reversal:
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

/** The reversals of one account's payments. */
export class ReversalLedger {
  private readonly redis: ScriptedRedis;

  constructor(
    redis: RedisClient,
    private readonly keys: RedisKeys,
    private readonly provider: string,
    private readonly account: string,
  ) {
    this.redis = scripted(redis);
  }

  /**
   * paid → reversing, recording who asks (their name on the payment, their identity in the audit
   * trail) and why. Returns the claim's epoch when claimed (its fence, as a sending mark's: unique
   * even across a failover that lost another claim), else the status that prevents it.
   */
  async claim(ref: PaymentRef, reason: string, who: Actor): Promise<{ epoch: number } | { refusal: string }> {
    const [answer, epoch] = (await this.redis.claimReversal(...this.keysOf(ref), this.keys.audit(this.provider, this.account), recordedName(who), reason, now(), ...auditFields('reversed', who, ref, `reversal asked for: ${reason}`))) as [string, number];
    return answer === 'ok' ? { epoch: Number(epoch) } : { refusal: answer };
  }

  /** Whether the payment is still reversing under the claim of `epoch`, on whichever server holds it now. */
  async stillClaimed(ref: PaymentRef, epoch: number): Promise<boolean> {
    const [status, claimed] = await this.redis.hmget(this.keysOf(ref)[0], 'status', 'reversal_epoch');
    return status === 'reversing' && claimed === String(epoch);
  }

  async settle(ref: PaymentRef, settlement: ReversalSettlement, epoch: number): Promise<boolean> {
    const definite = settlement.to === 'reversed' || (settlement.to === 'paid' && settlement.definite);
    const reference = settlement.to === 'reversed' ? settlement.reference : '';
    return (await this.redis.settleReversal(...this.keysOf(ref), settlement.to, definite ? '1' : '0', reference, settlement.code, settlement.message, now(), String(epoch))) === 1;
  }

  /** A reversal claimed longer than `callMs` ago (by Redis's clock) and still under way was cut off: reversal_unknown. */
  async interrupt(ref: PaymentRef, callMs: number): Promise<boolean> {
    const message = 'the reversal was cut off during the provider call; the money may have come back (check with the provider, then stipend resolve)';
    return (await this.redis.interruptReversal(...this.keysOf(ref), String(callMs), message)) === 1;
  }

  /**
   * A person's verdict on a reversal_unknown (`who` and their note recorded as for a payment's,
   * ledger/payments.ts resolve). Returns undefined when recorded, else the status that prevents it.
   */
  async resolve(ref: PaymentRef, verdict: { reversed: string } | { notReversed: true }, who: Actor, note?: string): Promise<string | undefined> {
    const details = withNote('reversed' in verdict ? `reversal went through, reference ${verdict.reversed}` : 'reversal did not go through', note);
    const answer = await this.redis.resolveReversal(
      ...this.keysOf(ref), this.keys.audit(this.provider, this.account), 'reversed' in verdict ? 'reversed' : 'not-reversed', 'reversed' in verdict ? verdict.reversed : '', recordedName(who), now(), note ?? '',
      ...auditFields('resolved', who, ref, details),
    );
    return answer === 'ok' ? undefined : String(answer);
  }

  private keysOf(ref: PaymentRef): [string, string] {
    return [this.keys.payment(this.provider, this.account, ref.batchId, ref.paymentId), this.keys.batch(this.provider, this.account, ref.batchId)];
  }
}

const now = () => new Date().toISOString();
