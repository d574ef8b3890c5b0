import { type Job, type Queue, RateLimitError, UnrecoverableError, Worker } from 'bullmq';
import type { Account } from '../src/config/load.js';
import type { PaymentLedger, FinalStatus } from '../src/ledger/payments.js';
import type { Logger } from '../src/log.js';
import type { Outcome } from '../src/providers/outcome.js';
import type { ProviderClient } from '../src/providers/types.js';
import { type PaymentJobData, paymentJobData } from '../src/queue/payment-job.js';

/**
 * The `payment` job: pay one row, once. The ledger, not BullMQ, decides whether a call may be made:
 * BullMQ runs a job at least once, so a job can run again after a crash, a stall or a retry.
 *
 *   final already          → nothing is sent
 *   `sending` found        → the last call was cut off: resend with the same idempotency key where
 *                            the provider has one, else mark `unknown` for a person to settle
 *   paid / declined        → final
 *   retryable (throttled)  → the whole account pauses for Retry-After; the attempt is not used up
 *   retryable              → BullMQ retries with exponential backoff; after the last attempt `failed`
 *                            (or `unknown`, if any earlier call's outcome was unknown)
 *   unknown                → resend with the same key where safe (as retryable), else `unknown`
 */

export interface PaymentJobContext {
  account: Account;
  client: ProviderClient<Record<string, string>>;
  payments: PaymentLedger;
  batchKey: (batchId: string) => string;
  queue: Queue;
  pauseAccount: (ms: number) => Promise<void>;
  log: Logger;
}

/** Thrown to hand a payment back to BullMQ for a later attempt; nothing was applied. */
export class RetryLater extends Error {
  override name = 'RetryLater';
}

export function paymentProcessor(context: PaymentJobContext) {
  const { account, client, payments, log } = context;
  const resendIsSafe = account.adapter.capabilities.idempotencyKey;

  return async function processPayment(job: Job): Promise<void> {
    const data = paymentJobData.parse(job.data);
    try {
      await pay(job, data);
    } catch (error) {
      // An error no outcome accounts for (a bug, a Redis failure mid-job). BullMQ retries the job and
      // the ledger makes the retry safe; after the last attempt the row must still end with a status.
      const controlFlow = error instanceof RetryLater || error instanceof RateLimitError;
      const lastAttempt = error instanceof UnrecoverableError || job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
      if (!controlFlow && lastAttempt) {
        await payments.finalize(context.batchKey(data.batchId), data.paymentId, { status: 'abandoned', code: 'INTERNAL_ERROR', message: `stopped by an internal error: ${String(error)}` });
      }
      throw error;
    }
  };

  async function pay(job: Job, data: PaymentJobData): Promise<void> {
    const batchKey = context.batchKey(data.batchId);
    const settle = async (status: FinalStatus, outcome: { code: string; message: string; reference?: string }) => {
      const recorded = await payments.finalize(batchKey, data.paymentId, { status, ...outcome });
      log.info({ batchId: data.batchId, paymentId: data.paymentId, status, code: outcome.code, recorded }, 'payment settled');
    };

    const permission = await payments.beginSending(data.paymentId, resendIsSafe);
    switch (permission) {
      case 'final':
        return;
      case 'missing':
        // No ledger record means nothing could record the outcome: never pay blind.
        throw new UnrecoverableError(`payment ${data.paymentId} has no ledger record`);
      case 'in-doubt':
        await settle('unknown', {
          code: 'INTERRUPTED',
          message: 'the worker stopped during the provider call; the payment may have been applied (check with the provider, then stipend resolve)',
        });
        return;
      case 'in-doubt-resend':
        log.warn({ batchId: data.batchId, paymentId: data.paymentId }, 'resending an interrupted payment with the same idempotency key');
        break;
      case 'ready':
        break;
    }

    log.debug({ batchId: data.batchId, paymentId: data.paymentId, attempt: job.attemptsMade + 1 }, 'payment sending');
    const outcome: Outcome = await client
      .pay({ paymentId: data.paymentId, amountCents: data.amountCents, fields: data.fields })
      .catch((error: unknown) => ({ kind: 'unknown', code: 'ADAPTER_ERROR', message: String(error) }));

    switch (outcome.kind) {
      case 'paid':
        return settle('paid', outcome);
      case 'declined':
        return settle('declined', outcome);
      case 'unknown':
        if (!resendIsSafe) return settle('unknown', outcome);
        return retryOrFail(job, data.paymentId, outcome, true, settle);
      case 'retryable':
        if (outcome.throttled) {
          const wait = outcome.retryAfterMs ?? account.retry.backoffMs;
          await payments.requeue(data.paymentId, outcome.code, outcome.message, false);
          await context.pauseAccount(wait);
          await context.queue.rateLimit(wait);
          log.warn({ account: account.name, provider: account.provider, waitMs: wait, code: outcome.code }, 'provider asked to slow down; account paused');
          throw Worker.RateLimitError();
        }
        return retryOrFail(job, data.paymentId, outcome, false, settle);
    }
  }

  async function retryOrFail(
    job: Job,
    paymentId: string,
    outcome: { code: string; message: string },
    mayHaveApplied: boolean,
    settle: (status: FinalStatus, outcome: { code: string; message: string }) => Promise<void>,
  ): Promise<void> {
    const lastAttempt = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
    if (!lastAttempt) {
      await payments.requeue(paymentId, outcome.code, outcome.message, mayHaveApplied);
      throw new RetryLater(`${outcome.code}: ${outcome.message}`);
    }
    const record = await payments.get(paymentId);
    if (mayHaveApplied || record?.may_have_applied) {
      return settle('unknown', { code: outcome.code, message: `${outcome.message} (after ${record?.attempts ?? '?'} calls, at least one with an unknown outcome)` });
    }
    return settle('failed', { code: outcome.code, message: `${outcome.message} (gave up after ${record?.attempts ?? '?'} calls; nothing was applied)` });
  }
}
