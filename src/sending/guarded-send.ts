import type { Account } from '../config/load.js';
import type { UndecidedOutcome } from '../providers/outcome.js';

/**
 * The one way a request that can move money leaves: a payment (jobs/pay.ts) or a reversal
 * (reversals/reverse.ts). BullMQ runs a payment's job at least once, and two runs of it can be alive
 * at once (a stalled one wakes after its lock expired); two people can reverse the same payment at
 * once. So the ledger, not the caller, decides whether a request may leave, and it decides as the
 * request leaves: after the account's rate-limit wait, any login, access id or key, in the adapter's
 * `beforeSend` (providers/http.ts runs it right before the request is written).
 */

type UnknownOutcome = Extract<UndecidedOutcome, { kind: 'unknown' }>;
type RetryableOutcome = Extract<UndecidedOutcome, { kind: 'retryable' }>;

/** What the ledger holds for one send: its claim, taken as the request leaves. */
export interface SendClaim<Refusal extends string> {
  /**
   * Takes the claim: one compare-and-set in the same script that marks the payment `sending` (a
   * reversal `reversing`), so of two runs that both decided to send, one sends. Undefined once
   * taken, else why not.
   */
  take(): Promise<Refusal | undefined>;
  /**
   * For a request repeated within its attempt (PT API after a 401, with a new login or access id):
   * the refused request applied nothing, and the repeat goes only while the claim is still this
   * send's (another run may have taken it up while this one waited, or stalled); it moves the
   * claim's time on. Without it, a repeat is refused.
   */
  keep?(): Promise<boolean>;
  /**
   * Where Redis could lose the claim (sending/durability.ts): resolves true once it is durable. The
   * request waits for it; a claim Redis loses would let the same send leave again.
   */
  confirmDurable?: () => Promise<boolean>;
  /**
   * Reads the claim again, from whichever server holds it now: true while it is still this send's.
   * Asked after a confirmation, which covers only the server that answered it.
   */
  stillHeld?(): Promise<boolean>;
}

/** Why a request did not leave: nothing was sent. */
export class NotSent<Refusal extends string> extends Error {
  override name = 'NotSent';
  constructor(readonly reason: Refusal | 'stale' | 'not-durable') {
    super(`not sent: ${reason}`);
  }
}

/**
 * Sends `request`, handing the adapter the `beforeSend` that guards it. A refusal (the ledger's, a
 * repeat no longer this send's, a claim not confirmed durable) is thrown from `beforeSend`, so the
 * request does not leave; it stays the answer for the whole attempt, should an adapter try again.
 *
 * Returns the provider's answer, or NotSent. An error the adapter throws once a request may have
 * left (its `beforeSend` returned) is `unknown`: that request may have applied. One thrown before
 * any did is thrown as it is: nothing was sent.
 */
export async function guardedSend<Answer, Refusal extends string>(
  claim: SendClaim<Refusal>,
  request: (beforeSend: () => Promise<void>) => Promise<Answer>,
): Promise<Answer | UnknownOutcome | NotSent<Refusal>> {
  let claimed = false;
  let left = false;
  let refused: NotSent<Refusal> | undefined;
  const beforeSend = async () => {
    if (refused) throw refused;
    if (!claimed) {
      const refusal = await claim.take();
      if (refusal !== undefined) throw (refused = new NotSent(refusal));
      claimed = true;
    } else if (!(await claim.keep?.())) {
      throw (refused = new NotSent<Refusal>('stale'));
    }
    if (claim.confirmDurable) {
      if (!(await claim.confirmDurable())) throw (refused = new NotSent<Refusal>('not-durable'));
      // The confirmation covers the server that answered it. Had the claim's server failed over in
      // between (a cluster's replica taking over), the claim may have been lost with it: it is read
      // again, from the server that holds it now, before anything leaves.
      if (claim.stillHeld && !(await claim.stillHeld())) throw (refused = new NotSent<Refusal>('stale'));
    }
    left = true;
  };
  try {
    return await request(beforeSend);
  } catch (error) {
    if (refused !== undefined && error === refused) return refused;
    if (!left) throw error;
    return { kind: 'unknown', code: 'ADAPTER_ERROR', message: String(error) };
  }
}

/**
 * How long after its claim a call may still be under way: the account's timeout, and slack for the
 * request to reach the provider and its outcome to be recorded. A run that stalled between its
 * claim and its request does not send after the timeout (providers/http.ts), so once this has
 * passed by Redis's clock the call is either answered or never leaves.
 */
export function callWindowMs(account: Account): number {
  return account.timeoutMs + 5000;
}

/**
 * How long a send answered "retry later" (nothing moved) waits before its next attempt, `attempt`
 * counting from 1: a throttle (429/503) waits the provider's Retry-After, else `retry.backoffMs`,
 * and the caller pauses the whole account for it; any other answer waits `retry.backoffMs`, doubled
 * at each attempt (a payment's job has that wait from BullMQ: queue/payment-job.ts).
 */
export function retryWaitMs(account: Account, outcome: RetryableOutcome, attempt: number): number {
  return outcome.throttled ? (outcome.retryAfterMs ?? account.retry.backoffMs) : account.retry.backoffMs * 2 ** (attempt - 1);
}
