import { DelayedError, type Job, type Queue, RateLimitError, UnrecoverableError, Worker } from 'bullmq';
import type { Account } from '../src/config/load.js';
import { type ApprovalFence, FINAL_STATUSES, type FinalStatus, type PaymentLedger, type PaymentRef, type SendPermission } from '../src/ledger/payments.js';
import type { Logger } from '../src/log.js';
import type { Outcome } from '../src/providers/outcome.js';
import type { PaymentInstruction, ProviderClient } from '../src/providers/types.js';
import { type PaymentJobData, paymentJobData } from '../src/queue/payment-job.js';
import { callWindowMs, guardedSend, NotSent, retryWaitMs, type SendClaim } from '../src/sending/guarded-send.js';

/**
 * The `payment` job: pay one row, once. The ledger, not BullMQ, decides whether a call may be made:
 * BullMQ runs a job at least once, so a job can run again after a crash, a stall or a retry, and
 * two runs of it can be alive at once (a stalled one wakes after its lock expired). Each run's send
 * is fenced by the ledger (the epoch it saw), and its answers are recorded against its own call.
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
 *   batch not approved     → nothing is sent and the job completes; the payment stays queued, and
 *                            `stipend approve` adds its job again (maker-checker, the approval fence)
 */

export interface PaymentJobContext {
  account: Account;
  client: ProviderClient<Record<string, string>>;
  payments: PaymentLedger;
  queue: Queue;
  pauseAccount: (ms: number) => Promise<void>;
  /**
   * This worker's own approval rule for a batch (approval/worker-approval.ts): every sending mark
   * carries it, and the ledger refuses the mark while the batch needs an approval it does not have.
   */
  approvalFence: (batchId: string) => Promise<ApprovalFence | undefined>;
  /**
   * Where Redis could lose an acknowledged write, resolves true once the sending mark is durable
   * (sending/durability.ts). Undefined where nothing needs confirming: the mark is durable as written,
   * or the provider itself refuses a resend of the payment.
   */
  confirmDurable?: () => Promise<boolean>;
  log: Logger;
}

/** Thrown to hand a payment back to BullMQ for a later attempt; nothing was applied. */
class RetryLater extends Error {
  override name = 'RetryLater';
}

/** Why the ledger would not mark a payment sending. */
type Refusal = Exclude<SendPermission, 'ready' | 'ready-in-doubt'> | 'not-fresh';

/**
 * One run of a payment's job: the sending mark it made, if any. Its answers are recorded against
 * that mark only. `approval`: this worker's rule for the payment's batch, which its mark carries.
 */
interface Run {
  job: Job;
  data: PaymentJobData;
  approval?: ApprovalFence;
  epoch?: number;
}

/** How the request is checked as it leaves: fresh (simply queued), or careful against what the run saw. */
type SendCheck = { kind: 'fresh' } | { kind: 'careful'; seenEpoch: number };

type Settle = { code: string; message: string; reference?: string; refused?: boolean };

export function paymentProcessor(context: PaymentJobContext) {
  const { account, client, payments, log, confirmDurable } = context;
  const { capabilities, lookup } = account.adapter;
  const doubtResolvable = capabilities.idempotencyKey || lookup !== undefined;
  const callMs = callWindowMs(account);

  return async function processPayment(job: Job, token?: string): Promise<void> {
    const run: Run = { job, data: paymentJobData.parse(job.data) };
    try {
      await pay(run, token);
    } catch (error) {
      // An error no outcome accounts for (a bug, a Redis failure mid-job). BullMQ retries the job and
      // the ledger makes the retry safe; after the last attempt the row must still end with a status.
      const controlFlow = error instanceof RetryLater || error instanceof RateLimitError || error instanceof DelayedError;
      const lastAttempt = error instanceof UnrecoverableError || isLastAttempt(job);
      if (!controlFlow && lastAttempt) {
        await payments.finalize(run.data, { status: 'abandoned', code: 'INTERNAL_ERROR', message: `stopped by an internal error: ${String(error)}`, epoch: run.epoch });
      }
      throw error;
    }
  };

  async function pay(run: Run, token: string | undefined): Promise<void> {
    const { job, data } = run;
    run.approval = await context.approvalFence(data.batchId);
    // Most runs are a payment's first call, or a retry after an answer that applied nothing. Those are
    // checked and marked sending in one step as the request leaves; any other standing (final, in
    // doubt, another run on it) changes nothing there, and is read and dealt with below.
    if (!client.issueIdempotencyKey) {
      const sent = await send(run, data.paymentId, { kind: 'fresh' });
      if (!(sent instanceof NotSent)) return handle(run, sent);
      if (sent.reason === 'not-durable') return waitForDurability(run);
      if (sent.reason === 'needs-approval') return awaitApproval(run);
    }

    const standing = await payments.standing(data, callMs);
    // No ledger record means nothing could record the outcome: never pay blind.
    if (!standing) throw new UnrecoverableError(`payment ${data.paymentId} has no ledger record`);
    if ((FINAL_STATUSES as readonly string[]).includes(standing.status)) return;
    const inDoubt = standing.status === 'sending' || standing.mayHaveApplied;
    // An earlier call may still be under way: its run lost its lock but lives on, or its answer was
    // lost while the provider still works on it. Wait until it cannot be, by Redis's clock (a call
    // never outlives callMs): a lookup before then could miss it, and a resend race it.
    if (inDoubt && standing.inFlightMs > 0 && token !== undefined) {
      await job.moveToDelayed(Date.now() + standing.inFlightMs, token);
      throw new DelayedError();
    }
    if (standing.status === 'sending' && !doubtResolvable) {
      return settle(run, 'unknown', {
        code: 'INTERRUPTED',
        message: 'the worker stopped during the provider call; the payment may have been applied (check with the provider, then stipend resolve)',
      });
    }

    const key = await idempotencyKeyFor(data, standing.idempotencyKey);
    if (typeof key !== 'string') return handle(run, key);

    if (inDoubt && !capabilities.idempotencyKey && lookup) {
      const found = await lookup.find(client, instruction(run, key));
      if (found.found === true) return settle(run, 'paid', { reference: found.reference, code: 'FOUND_BY_LOOKUP', message: found.message });
      if (found.found === 'unknown') return handle(run, found.outcome);
      log.info({ batchId: data.batchId, paymentId: data.paymentId }, 'in-doubt payment not applied (lookup); sending it');
    } else if (inDoubt) {
      log.warn({ batchId: data.batchId, paymentId: data.paymentId }, 'resending an in-doubt payment with the same idempotency key');
    }

    // Sent only if no other run marked the payment since this one read its standing (and looked it up).
    const sent = await send(run, key, { kind: 'careful', seenEpoch: standing.epoch });
    if (!(sent instanceof NotSent)) return handle(run, sent);
    if (sent.reason === 'not-durable') return waitForDurability(run);
    if (sent.reason === 'needs-approval') return awaitApproval(run);
    // Another run has it, or it was settled meanwhile: nothing was sent, nothing to record.
    log.info({ batchId: data.batchId, paymentId: data.paymentId, reason: sent.reason }, 'payment not sent: the ledger refused');
  }

  /** The provider's answer, or why the request did not leave (nothing sent). */
  function send(run: Run, key: string, check: SendCheck): Promise<Outcome | NotSent<Refusal>> {
    return guardedSend(sendingMark(run, key, check), (beforeSend) => client.pay({ ...instruction(run, key), beforeSend }));
  }

  /**
   * The payment's sending mark, as the ledger makes it when the request is about to leave: `fresh`
   * only if the payment is simply queued, `careful` only if no other run marked it since this one
   * looked. The mark's epoch is this run's: its answers are recorded against it.
   */
  function sendingMark(run: Run, key: string, check: SendCheck): SendClaim<Refusal> {
    const { job, data } = run;
    return {
      take: async () => {
        const mark = check.kind === 'fresh'
          ? await payments.beginFreshSending(data, key, run.approval)
          : await payments.beginSending(data, doubtResolvable, check.seenEpoch, key, run.approval);
        if (mark.permission !== 'ready' && mark.permission !== 'ready-in-doubt') return mark.permission;
        run.epoch = mark.epoch;
        log.info({ batchId: data.batchId, paymentId: data.paymentId, status: 'sending', attempt: job.attemptsMade + 1 }, 'payment sending');
        return undefined;
      },
      keep: () => payments.touchSending(data, run.epoch!),
      confirmDurable,
      stillHeld: () => payments.touchSending(data, run.epoch!),
    };
  }

  /** The payment as the adapter sends it (or looks it up). */
  function instruction(run: Run, key: string): PaymentInstruction<Record<string, string>> {
    const { data } = run;
    return { paymentId: data.paymentId, idempotencyKey: key, amountCents: data.amountCents, fields: data.fields };
  }

  /**
   * The sending mark could not be confirmed durable (a replica or the AOF did not answer in time), so
   * the request did not leave: the mark is taken back and the account's queue waits a moment, without
   * using up an attempt. Should taking it back be lost, the payment stays in doubt: safe.
   */
  async function waitForDurability(run: Run): Promise<void> {
    if (run.epoch !== undefined) await payments.unmarkSending(run.data, run.epoch);
    const wait = account.retry.backoffMs;
    log.warn({ batchId: run.data.batchId, paymentId: run.data.paymentId, waitMs: wait }, 'sending mark not confirmed durable; nothing sent, the payment waits');
    await context.queue.rateLimit(wait);
    throw Worker.RateLimitError();
  }

  /**
   * The batch needs an approval it does not have (the submitter's rule, or this worker's own): nothing
   * was sent and the job ends. The payment stays queued for `stipend approve`, which adds its job
   * again, or `stipend cancel`; the sweeper leaves a batch awaiting approval alone.
   */
  function awaitApproval(run: Run): void {
    const { batchId, paymentId } = run.data;
    log.info({ batchId, paymentId, approvalRule: run.approval?.reason }, 'payment not sent: its batch awaits approval (stipend approve)');
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

  async function handle(run: Run, outcome: Outcome): Promise<void> {
    switch (outcome.kind) {
      case 'paid':
        return settle(run, 'paid', outcome);
      case 'declined':
        return settle(run, 'declined', outcome);
      case 'unknown':
        if (!doubtResolvable) return settle(run, 'unknown', outcome);
        return retryOrFail(run, outcome, true);
      case 'retryable':
        if (outcome.throttled) {
          const { batchId, paymentId } = run.data;
          const wait = retryWaitMs(account, outcome, run.job.attemptsMade + 1);
          // Only this run's own call goes back to queued; a refused login or lookup leaves an earlier call in doubt.
          if (run.epoch !== undefined) await payments.requeue(run.data, run.epoch, { code: outcome.code, message: outcome.message, mayHaveApplied: false, refused: true });
          log.info({ batchId, paymentId, status: 'queued', code: outcome.code }, 'payment queued again after a throttle');
          await context.pauseAccount(wait);
          await context.queue.rateLimit(wait);
          log.warn({ account: account.name, provider: account.provider, waitMs: wait, code: outcome.code }, 'provider asked to slow down; account paused');
          throw Worker.RateLimitError();
        }
        return retryOrFail(run, outcome, false);
    }
  }

  /**
   * Another attempt later, or the last one's verdict. `mayHaveApplied`: the answer was lost. The
   * ledger has the last word: a payment any call may have applied never ends `failed`.
   */
  async function retryOrFail(run: Run, outcome: { code: string; message: string }, mayHaveApplied: boolean): Promise<void> {
    const { job, data } = run;
    if (!isLastAttempt(job)) {
      if (run.epoch !== undefined) await payments.requeue(data, run.epoch, { code: outcome.code, message: outcome.message, mayHaveApplied, refused: !mayHaveApplied });
      log.info({ batchId: data.batchId, paymentId: data.paymentId, status: 'queued', code: outcome.code, mayHaveApplied }, 'payment queued again for a later attempt');
      throw new RetryLater(`${outcome.code}: ${outcome.message}`);
    }
    const tries = job.attemptsMade + 1;
    if (mayHaveApplied) return settle(run, 'unknown', { code: outcome.code, message: `${outcome.message} (after ${tries} tries, at least one with an unknown outcome)` });
    return settle(run, 'failed', { code: outcome.code, message: `${outcome.message} (gave up after ${tries} tries; nothing was applied)`, refused: true });
  }

  async function settle(run: Run, status: FinalStatus, outcome: Settle): Promise<void> {
    const { batchId, paymentId } = run.data;
    const result = await payments.finalize(run.data, { status, code: outcome.code, message: outcome.message, reference: outcome.reference, epoch: run.epoch, refused: outcome.refused });
    if (result === 'conflict') {
      log.error({ batchId, paymentId, status, code: outcome.code, reference: outcome.reference }, 'provider answered paid for a payment already settled otherwise; kept as a conflict for a person to settle');
      return;
    }
    log.info({ batchId, paymentId, status, code: outcome.code, recorded: result === 'recorded' }, 'payment settled');
  }
}

function isLastAttempt(job: Job): boolean {
  return job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
}
