import { z } from 'zod';
import type { Account } from '../config/load.js';

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

/** A payment's job: its data, and options from the account's retry policy. */
export function paymentJob(account: Account, data: PaymentJobData, round = 0) {
  return {
    name: PAYMENT_JOB,
    data,
    opts: {
      jobId: paymentJobId(data.batchId, data.paymentId, round),
      attempts: account.retry.attempts,
      backoff: { type: 'exponential', delay: account.retry.backoffMs },
      // The ledger is the durable record; finished jobs are kept a while for the dashboard only.
      removeOnComplete: { age: 24 * 3600 },
      removeOnFail: { age: 7 * 24 * 3600 },
    },
  };
}

export function bullPrefix(prefix: string): string {
  return `${prefix}:bull`;
}
