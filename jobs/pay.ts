import { DelayedError, type Job, type Queue, RateLimitError, UnrecoverableError, Worker } from 'bullmq';
import type { Account } from '../src/config/load.js';
import { FINAL_STATUSES, type FinalStatus, type PaymentLedger, type PaymentRef, type SendPermission } from '../src/ledger/payments.js';
import type { Logger } from '../src/log.js';
import type { Outcome } from '../src/providers/outcome.js';
import type { PaymentInstruction, ProviderClient } from '../src/providers/types.js';
import { type PaymentJobData, paymentJobData } from '../src/queue/payment-job.js';

/**
 * The `payment` job: pay one row, once. The ledger, not BullMQ, decides whether a call may be made:
 * BullMQ runs a job at least once, so a job can run again after a crash, a stall or a retry.
 *
 *   final already          → nothing is sent
 *   in doubt (an earlier call was cut off or its answer lost) → settled the provider's way:
 *                              lookup   ask whether it was applied (PT API), send only if it was not
 *                              key      resend with the same idempotency key (CT Payer, ClientPay)
 *                              neither  `unknown`, for a person to settle (VirtualRx, ONTRAPORT)
 *   paid / declined        → final
 *   retryable (throttled)  → the whole account pauses for Retry-After; the attempt is not used up
 *   retryable              → BullMQ retries with exponential backoff; after the last attempt `failed`
 *                            (or `unknown`, if any earlier call's outcome was unknown)
 */

export interface PaymentJobContext {
  account: Account;
  client: ProviderClient<Record<string, string>>;
  payments: PaymentLedger;
  queue: Queue;
  pauseAccount: (ms: number) => Promise<void>;
  /**
   * Where Redis could lose an acknowledged write, resolves true once the sending mark is durable
   * (ledger/durability.ts). Undefined where nothing needs confirming: the mark is durable as written,
   * or the provider itself refuses a resend of the payment.
   */
  confirmDurable?: () => Promise<boolean>;
  log: Logger;
}

/** Thrown to hand a payment back to BullMQ for a later attempt; nothing was applied. */
export class RetryLater extends Error {
  override name = 'RetryLater';
}

/** The ledger would not let the request go (the payment was settled or taken up meanwhile). */
class NotSent extends Error {
  override name = 'NotSent';
  constructor(readonly permission: SendPermission | 'not-fresh') {
    super(`not sent: the ledger says ${permission}`);
  }
}

// How long after a call's timeout its run may still be recording it.
const IN_FLIGHT_SLACK_MS = 5000;

type Settle = (status: FinalStatus, outcome: { code: string; message: string; reference?: string }) => Promise<void>;

export function paymentProcessor(context: PaymentJobContext) {
  const { account, client, payments, log } = context;
  const { capabilities } = account.adapter;
  const doubtResolvable = capabilities.idempotencyKey || capabilities.lookup;

  return async function processPayment(job: Job, token?: string): Promise<void> {
    const data = paymentJobData.parse(job.data);
    try {
      await pay(job, data, token);
    } catch (error) {
      // An error no outcome accounts for (a bug, a Redis failure mid-job). BullMQ retries the job and
      // the ledger makes the retry safe; after the last attempt the row must still end with a status.
      const controlFlow = error instanceof RetryLater || error instanceof RateLimitError || error instanceof DelayedError;
      const lastAttempt = error instanceof UnrecoverableError || isLastAttempt(job);
      if (!controlFlow && lastAttempt) {
        await payments.finalize(data, { status: 'abandoned', code: 'INTERNAL_ERROR', message: `stopped by an internal error: ${String(error)}` });
      }
      throw error;
    }
  };

  async function pay(job: Job, data: PaymentJobData, token: string | undefined): Promise<void> {
    const settle: Settle = async (status, outcome) => {
      const recorded = await payments.finalize(data, { status, ...outcome });
      log.info({ batchId: data.batchId, paymentId: data.paymentId, status, code: outcome.code, recorded }, 'payment settled');
    };

    // Most runs are a payment's first call, or a retry after an answer that applied nothing. Those are
    // checked and marked sending in one step as the request leaves; any other standing (final, in
    // doubt, another run on it) changes nothing there, and is read and dealt with below.
    if (!client.issueIdempotencyKey) {
      const sent = await send(job, data, data.paymentId, 'fresh');
      if (!(sent instanceof NotSent)) return handle(job, data, sent, settle);
    }

    const standing = await payments.standing(data);
    // No ledger record means nothing could record the outcome: never pay blind.
    if (!standing) throw new UnrecoverableError(`payment ${data.paymentId} has no ledger record`);
    if ((FINAL_STATUSES as readonly string[]).includes(standing.status)) return;
    if (standing.status === 'sending') {
      // An earlier run of this job recorded a call. If that call may still be under way (its run lost
      // its lock but lives on), wait until it cannot be: a call never outlives the account's timeout.
      const stillPossible = Date.parse(standing.sendingAt ?? '') + account.timeoutMs + IN_FLIGHT_SLACK_MS - Date.now();
      if (stillPossible > 0 && token !== undefined) {
        await job.moveToDelayed(Date.now() + stillPossible, token);
        throw new DelayedError();
      }
      if (!doubtResolvable) {
        return settle('unknown', {
          code: 'INTERRUPTED',
          message: 'the worker stopped during the provider call; the payment may have been applied (check with the provider, then stipend resolve)',
        });
      }
    }
    const inDoubt = standing.status === 'sending' || standing.mayHaveApplied;

    const key = await idempotencyKeyFor(data, standing.idempotencyKey);
    if (typeof key !== 'string') return handle(job, data, key, settle);

    if (inDoubt && !capabilities.idempotencyKey && client.lookup) {
      const found = await client.lookup(instruction(job, data, key, 'careful'));
      if (found.found === true) return settle('paid', { reference: found.reference, code: 'FOUND_BY_LOOKUP', message: found.message });
      if (found.found === 'unknown') return handle(job, data, found.outcome, settle);
      log.info({ batchId: data.batchId, paymentId: data.paymentId }, 'in-doubt payment not applied (lookup); sending it');
    } else if (inDoubt) {
      log.warn({ batchId: data.batchId, paymentId: data.paymentId }, 'resending an in-doubt payment with the same idempotency key');
    }

    const sent = await send(job, data, key, 'careful');
    // Another run got there first (the ledger refused to mark the payment sending): nothing sent.
    if (sent instanceof NotSent) return;
    return handle(job, data, sent, settle);
  }

  /** The provider's answer, or the ledger's refusal as the request was about to leave (nothing sent). */
  async function send(job: Job, data: PaymentJobData, key: string, check: 'fresh' | 'careful'): Promise<Outcome | NotSent> {
    try {
      return await client.pay(instruction(job, data, key, check));
    } catch (error) {
      if (error instanceof NotSent) return error;
      return { kind: 'unknown', code: 'ADAPTER_ERROR', message: String(error) };
    }
  }

  /**
   * The payment as the adapter sends it. `beforeSend` runs once the request is about to leave (after
   * the rate limit's wait), and the ledger decides there whether it may: `fresh` only if the payment
   * is simply queued, `careful` after its standing was looked at. A request repeated within the
   * attempt (PT API after a 401) was refused, so applied nothing: it only moves sending_at on.
   */
  function instruction(job: Job, data: PaymentJobData, key: string, check: 'fresh' | 'careful'): PaymentInstruction<Record<string, string>> {
    let marked: SendPermission | 'not-fresh' | undefined;
    return {
      paymentId: data.paymentId,
      idempotencyKey: key,
      amountCents: data.amountCents,
      fields: data.fields,
      beforeSend: async () => {
        if (marked === 'ready' || marked === 'ready-in-doubt') {
          await payments.touchSending(data);
          return;
        }
        // Refused once, refused for the whole attempt, should an adapter ever try again.
        if (marked !== undefined) throw new NotSent(marked);
        marked = check === 'fresh' ? await payments.beginFreshSending(data, key) : await payments.beginSending(data, doubtResolvable, key);
        if (marked !== 'ready' && marked !== 'ready-in-doubt') throw new NotSent(marked);
        log.info({ batchId: data.batchId, paymentId: data.paymentId, status: 'sending', attempt: job.attemptsMade + 1 }, 'payment sending');
      },
    };
  }

  /** The payment's key: kept in the ledger before the first call, so every resend uses the same. */
  async function idempotencyKeyFor(ref: PaymentRef, kept: string | undefined): Promise<string | Outcome> {
    if (!client.issueIdempotencyKey) return ref.paymentId;
    if (kept !== undefined) return kept;
    const issued = await client.issueIdempotencyKey();
    if (issued.ok) return payments.keepKey(ref, issued.key);
    // No key could be had, so no payment call was made: whatever went wrong applied nothing.
    const failure = issued.outcome;
    return failure.kind === 'retryable' ? failure : { kind: 'retryable', code: failure.code, message: failure.message, throttled: false };
  }

  async function handle(job: Job, ref: PaymentRef, outcome: Outcome, settle: Settle): Promise<void> {
    switch (outcome.kind) {
      case 'paid':
        return settle('paid', outcome);
      case 'declined':
        return settle('declined', outcome);
      case 'unknown':
        if (!doubtResolvable) return settle('unknown', outcome);
        return retryOrFail(job, ref, outcome, true, settle);
      case 'retryable':
        if (outcome.throttled) {
          const wait = outcome.retryAfterMs ?? account.retry.backoffMs;
          await payments.requeue(ref, outcome.code, outcome.message, false);
          log.info({ batchId: ref.batchId, paymentId: ref.paymentId, status: 'queued', code: outcome.code }, 'payment queued again after a throttle');
          await context.pauseAccount(wait);
          await context.queue.rateLimit(wait);
          log.warn({ account: account.name, provider: account.provider, waitMs: wait, code: outcome.code }, 'provider asked to slow down; account paused');
          throw Worker.RateLimitError();
        }
        return retryOrFail(job, ref, outcome, false, settle);
    }
  }

  async function retryOrFail(job: Job, ref: PaymentRef, outcome: { code: string; message: string }, mayHaveApplied: boolean, settle: Settle): Promise<void> {
    if (!isLastAttempt(job)) {
      await payments.requeue(ref, outcome.code, outcome.message, mayHaveApplied);
      log.info({ batchId: ref.batchId, paymentId: ref.paymentId, status: 'queued', code: outcome.code, mayHaveApplied }, 'payment queued again for a later attempt');
      throw new RetryLater(`${outcome.code}: ${outcome.message}`);
    }
    const record = await payments.get(ref);
    if (mayHaveApplied || record?.may_have_applied) {
      return settle('unknown', { code: outcome.code, message: `${outcome.message} (after ${record?.attempts ?? '?'} calls, at least one with an unknown outcome)` });
    }
    return settle('failed', { code: outcome.code, message: `${outcome.message} (gave up after ${record?.attempts ?? '?'} calls; nothing was applied)` });
  }
}

function isLastAttempt(job: Job): boolean {
  return job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
}
