import { Queue } from 'bullmq';
import type { Account } from '../config/load.js';
import type { StipendContext } from '../context.js';
import type { BatchRow } from '../ledger/batch-rows.js';
import type { NewPayment, PaymentLedger } from '../ledger/payments.js';
import { formatProblem, type ManifestRow, type ValidatedPayment } from '../manifest/index.js';
import { bullPrefix, paymentJob, queueName } from './payment-job.js';

const CHUNK = 500;

/**
 * Records and queues the rows of an accepted manifest, a chunk at a time (memory stays flat). Per
 * chunk: its payments are claimed in the ledger (one another batch holds is listed as a duplicate,
 * never queued again), their jobs are added, then the chunk's rows, counts and the progress are
 * recorded at once. Claims and job ids are the same when repeated, so an enqueue cut short anywhere
 * resumes after `afterLine` without a row twice. The batch record itself must already exist.
 */
export async function enqueueRows(
  context: StipendContext,
  account: Account,
  batchId: string,
  rows: AsyncIterable<ManifestRow>,
  options: { afterLine?: number; addJobs: boolean },
): Promise<void> {
  const afterLine = options.afterLine ?? 0;
  const payments = context.payments(account);
  const queue = new Queue(queueName(account), { connection: context.redis, prefix: bullPrefix(context.config.prefix) });
  try {
    let chunk: ManifestRow[] = [];
    const flush = async () => {
      await enqueueChunk(context, account, payments, options.addJobs ? queue : undefined, batchId, chunk);
      chunk = [];
    };
    for await (const row of rows) {
      if (row.line <= afterLine) continue;
      chunk.push(row);
      if (chunk.length >= CHUNK) await flush();
    }
    await flush();
  } finally {
    await queue.close();
  }
}

/** `queue` undefined: the rows are recorded and claimed, but their jobs wait for an approval. */
async function enqueueChunk(context: StipendContext, account: Account, payments: PaymentLedger, queue: Queue | undefined, batchId: string, chunk: ManifestRow[]): Promise<void> {
  if (chunk.length === 0) return;
  const valid = chunk.flatMap((row) => (row.ok ? [row.payment] : []));
  const holders = await payments.claim(batchId, valid.map(toNewPayment));
  const holderOf = new Map(valid.map((payment, i) => [payment, holders[i]]));

  const entries: BatchRow[] = [];
  const jobs: ReturnType<typeof paymentJob>[] = [];
  let acceptedCents = 0;
  for (const row of chunk) {
    if (!row.ok) {
      entries.push({
        s: 'rejected', l: row.line, m: row.problems.map(formatProblem).join('; '),
        ...(row.paymentId === undefined ? {} : { p: row.paymentId }),
        ...(row.payee === undefined ? {} : { y: row.payee }),
        ...(row.amountCents === undefined ? {} : { a: row.amountCents }),
      });
      continue;
    }
    const { payment } = row;
    const holder = holderOf.get(payment);
    if (holder !== undefined) {
      entries.push({ s: 'duplicate', l: row.line, p: payment.paymentId, y: payment.payee, a: payment.amountCents, h: holder });
      continue;
    }
    entries.push({ s: 'payment', l: row.line, p: payment.paymentId });
    acceptedCents += payment.amountCents;
    jobs.push(paymentJob(account, { batchId, paymentId: payment.paymentId, amountCents: payment.amountCents, fields: definedFields(payment) }));
  }
  if (queue && jobs.length > 0) await queue.addBulk(jobs);
  const counts = {
    accepted: jobs.length,
    acceptedCents,
    rejected: entries.filter((e) => e.s === 'rejected').length,
    duplicates: entries.filter((e) => e.s === 'duplicate').length,
  };
  await context.batches.recordChunk(batchId, entries, counts, chunk.at(-1)!.line);
}

function toNewPayment(payment: ValidatedPayment): NewPayment {
  const { line, paymentId, payee, amountCents, participantId, reimbursement } = payment;
  return { line, paymentId, payee, amountCents, fields: definedFields(payment), reimbursement, ...(participantId === undefined ? {} : { participantId }) };
}

function definedFields(payment: ValidatedPayment): Record<string, string> {
  return Object.fromEntries(Object.entries(payment.fields).filter((entry): entry is [string, string] => entry[1] !== undefined));
}
