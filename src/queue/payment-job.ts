import type { QueueOptions } from 'bullmq';
import type { RedisClient } from '../redis/connection.js';
import { z } from 'zod';
import type { Account } from '../config/load.js';
import { RedisKeys } from '../redis/keys.js';

/**
 * A payment job as stored in BullMQ. Lean, and free of credentials: the worker reads those from its
 * own configuration. The provider fields are the manifest's validated columns (a CT Payer cardId is
 * CT Payer's 10-digit card id, never a card number: the manifest rejects those).
 */
export const paymentJobData = z.object({
  batchId: z.string(),
  paymentId: z.string(),
  amountCents: z.number().int().positive(),
  fields: z.record(z.string(), z.string()),
});
export type PaymentJobData = z.infer<typeof paymentJobData>;

export const PAYMENT_JOB = 'payment';

/** One queue per provider account. */
export function queueName(account: Pick<Account, 'provider' | 'name'>): string {
  return `pay.${account.provider}.${account.name}`;
}

/**
 * The job id is the payment's identity in its account's queue (its batch and payment id): adding it
 * twice adds one job. A payment sent round again by `stipend retry` gets a new round number.
 */
export function paymentJobId(batchId: string, paymentId: string, round = 0): string {
  return `${batchId}.${paymentId}${round === 0 ? '' : `.round${round}`}`;
}

/** Some 20–30 MB of failed jobs per queue at most: a failed job's data, reason and stack take 2–3 KB. */
const FAILED_JOBS_KEPT = 10_000;

/** A payment's job: its data, and options from the account's retry policy. */
export function paymentJob(account: Account, data: PaymentJobData, round = 0) {
  return {
    name: PAYMENT_JOB,
    data,
    opts: {
      jobId: paymentJobId(data.batchId, data.paymentId, round),
      attempts: account.retry.attempts,
      backoff: { type: 'exponential', delay: account.retry.backoffMs },
      // The ledger is the record of every payment, and what keeps it from being paid twice: a job
      // added again under this id once its payment is final sends nothing (jobs/pay.ts). So a
      // completed job goes at once, in the script that completes it, and keeps nothing in Redis.
      removeOnComplete: true,
      // A failed job (BullMQ ended it without an outcome, or an internal error did) says why, for a
      // person; the sweeper settles its payment within a sweep (one already removed, it adds again,
      // and the ledger decides). Kept a week, and at most FAILED_JOBS_KEPT per queue, so that a mass
      // failure cannot fill a Redis that never evicts.
      removeOnFail: { age: 7 * 24 * 3600, count: FAILED_JOBS_KEPT },
    },
  };
}

/** The prefix every Queue and Worker of an account's payment queue is made with (RedisKeys.bull): in the account's slot. */
export function bullPrefix(prefix: string, account: { provider: string; name: string }): string {
  return new RedisKeys(prefix).bull(account.provider, account.name);
}

/**
 * BullMQ's events stream of a queue, capped at this many entries (about 100 KB; BullMQ's default,
 * 10,000, holds about 700 KB). Nothing in the program reads it (no QueueEvents; bull-board reads the
 * jobs themselves), and a listener reads entries as they arrive: only history is cut.
 */
const EVENTS_KEPT = 1000;

/**
 * The options of a payment queue's Queue. Each Queue writes its events cap (BullMQ's default unless
 * given) into the queue's meta as it starts, and the last one written holds: every Queue of a payment
 * queue should be made with these.
 */
export function paymentQueueOptions(connection: RedisClient, prefix: string, account: Pick<Account, 'provider' | 'name'>): QueueOptions {
  return { connection, prefix: bullPrefix(prefix, account), streams: { events: { maxLen: EVENTS_KEPT } } };
}
