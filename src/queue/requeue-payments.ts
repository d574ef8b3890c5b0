import type { Queue } from 'bullmq';
import type { Account } from '../config/load.js';
import type { StipendContext } from '../context.js';
import type { PaymentRecord, PaymentRef } from '../ledger/payments.js';
import { paymentJob } from './payment-job.js';

/**
 * What to do with one payment of the batch that has a record: the round to add its job under, or
 * undefined to add none. It may change the payment first (a retry gives it its new round).
 */
export type RequeueDecision = (payment: { ref: PaymentRef; record: PaymentRecord }) => Promise<number | undefined> | number | undefined;

/**
 * Adds the jobs of a batch's payments again, a page of rows at a time: each page's records are read
 * in one round trip, `decide` is asked about each in file order, and the page's jobs go in one
 * addBulk. A job id exists once in BullMQ, so a job already there is left as it is, never doubled.
 * `queue` is the account's payment queue (openAccountQueue); the caller closes it.
 */
export async function requeuePayments(context: StipendContext, queue: Queue, account: Account, batchId: string, decide: RequeueDecision): Promise<void> {
  const ledger = context.payments(account);
  for await (const page of context.rows.pages(batchId)) {
    const refs = page.flatMap((row) => (row.kind === 'payment' ? [{ batchId, paymentId: row.paymentId }] : []));
    const records = await ledger.getMany(refs);
    const jobs = [];
    for (const [i, ref] of refs.entries()) {
      const record = records[i];
      if (!record) continue;
      const round = await decide({ ref, record });
      if (round === undefined) continue;
      jobs.push(paymentJob(account, { ...ref, amountCents: record.amount_cents, fields: record.fields }, round));
    }
    if (jobs.length > 0) await queue.addBulk(jobs);
  }
}
