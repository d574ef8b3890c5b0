import type { Queue } from 'bullmq';
import type { Account } from '../config/load.js';
import type { StipendContext } from '../context.js';
import type { BatchRow } from '../ledger/batch-rows.js';
import { claimPayments, type NewPayment } from '../ledger/claims.js';
import { formatProblem, type ManifestRow, type ValidatedPayment } from '../manifest/index.js';
import { openAccountQueue } from './account-queue.js';
import { EnqueueOvertakenError } from './enqueue-errors.js';
import { removeCompletedJobs } from './cleanup.js';
import { paymentJob } from './payment-job.js';

const CHUNK = 500;

/**
 * Records and queues the rows of an accepted manifest, a chunk at a time (memory stays flat). Per
 * chunk: its payments are claimed in the ledger (one another batch holds, of this account or of
 * `otherAccounts`, is listed as a duplicate, never queued again), their jobs are added, then the chunk's rows, counts and the progress are
 * recorded at once. Claims and job ids are the same when repeated, so an enqueue cut short anywhere
 * resumes after `afterLine` without a row twice. A job added again after its payment's job completed
 * (completed jobs are removed at once) finds the payment final in the ledger and sends nothing. The
 * batch record itself must already exist.
 * Each chunk is recorded only if the batch is still queued up to where this enqueue left it: another
 * enqueue of the batch that got there first (this one's file lock expired) stops this one with
 * EnqueueOvertakenError. Returns the last line recorded (`afterLine` when none was).
 *
 * While one chunk's jobs and rows are being written, the next chunk is read and claimed: Redis and
 * this process work at the same time. Chunks are still recorded one after the other, in file order.
 */
export async function enqueueRows(
  context: StipendContext,
  account: Account,
  batchId: string,
  rows: AsyncIterable<ManifestRow>,
  options: { afterLine?: number; addJobs: boolean; otherAccounts?: readonly string[] },
): Promise<number> {
  const afterLine = options.afterLine ?? 0;
  // The last line recorded once the chunks claimed so far are written.
  let through = afterLine;
  const queue = openAccountQueue(context.redis, context.config.prefix, account);
  // The previous chunk's jobs and records, still being written.
  let writing: Promise<void> | undefined;
  try {
    // Completed jobs an earlier version left behind (cleanup.ts); after the first enqueue, none.
    await removeCompletedJobs(queue);
    let chunk: ManifestRow[] = [];
    const flush = async () => {
      if (chunk.length === 0) return;
      const claimed = await claimChunk(context, account, batchId, chunk, options.otherAccounts ?? []);
      chunk = [];
      const after = through;
      through = claimed.lastLine;
      await writing;
      writing = writeChunk(context, options.addJobs ? queue : undefined, batchId, claimed, after);
      // Awaited by the next flush or at the end; until then a failure must not count as unhandled.
      writing.catch(() => {});
    };
    for await (const row of rows) {
      if (row.line <= afterLine) continue;
      chunk.push(row);
      if (chunk.length >= CHUNK) await flush();
    }
    await flush();
    await writing;
    return through;
  } finally {
    // Cut short: what was read before is recorded first, so a resume starts after it.
    await writing?.catch(() => {});
    await queue.close();
  }
}

/**
 * enqueueRows, then the batch's enqueue is ended: it waits for approval (its jobs are not added yet)
 * or is enqueued. Throws EnqueueOvertakenError when another enqueue of the batch took it over.
 */
export async function enqueueAndFinish(
  context: StipendContext,
  account: Account,
  batchId: string,
  rows: AsyncIterable<ManifestRow>,
  options: { afterLine: number; approval: boolean; otherAccounts: readonly string[] },
): Promise<void> {
  const through = await enqueueRows(context, account, batchId, rows, { afterLine: options.afterLine, addJobs: !options.approval, otherAccounts: options.otherAccounts });
  if (await context.batches.finishEnqueue(batchId, options.approval ? 'awaiting_approval' : 'enqueued', through)) return;
  const batch = await context.batches.get(batchId);
  throw new EnqueueOvertakenError(batchId, { state: batch.state, enqueuedLine: batch.enqueued_line });
}

/** A chunk whose payments are claimed: its rows' entries, the jobs to add and the counts. */
interface ClaimedChunk {
  entries: BatchRow[];
  jobs: ReturnType<typeof paymentJob>[];
  counts: { accepted: number; acceptedCents: number; rejected: number; duplicates: number };
  lastLine: number;
}

/** `otherAccounts`: the provider's accounts whose holders count too (a payment they hold is a duplicate). */
async function claimChunk(context: StipendContext, account: Account, batchId: string, chunk: ManifestRow[], otherAccounts: readonly string[]): Promise<ClaimedChunk> {
  const valid = chunk.flatMap((row) => (row.ok ? [row.payment] : []));
  const fields = new Map(valid.map((payment) => [payment, definedFields(payment)]));
  const owner = { provider: account.provider, account: account.name };
  const holders = await claimPayments(context.redis, context.keys, owner, batchId, valid.map((payment) => toNewPayment(payment, fields.get(payment)!)), otherAccounts, context.config.rememberPaymentsMs);
  const holderOf = new Map(valid.map((payment, i) => [payment, holders[i]]));

  const claimed: ClaimedChunk = { entries: [], jobs: [], counts: { accepted: 0, acceptedCents: 0, rejected: 0, duplicates: 0 }, lastLine: chunk.at(-1)!.line };
  const { entries, jobs, counts } = claimed;
  for (const row of chunk) {
    if (!row.ok) {
      entries.push({
        kind: 'rejected', line: row.line, message: row.problems.map(formatProblem).join('; '),
        problems: row.problems.map(({ column, message }) => ({ column, message })),
        paymentId: row.paymentId, payee: row.payee, amountCents: row.amountCents,
      });
      counts.rejected += 1;
      continue;
    }
    const { payment } = row;
    const holder = holderOf.get(payment);
    if (holder !== undefined) {
      entries.push({ kind: 'duplicate', line: row.line, paymentId: payment.paymentId, payee: payment.payee, amountCents: payment.amountCents, holderBatchId: holder });
      counts.duplicates += 1;
      continue;
    }
    entries.push({ kind: 'payment', line: row.line, paymentId: payment.paymentId });
    counts.accepted += 1;
    counts.acceptedCents += payment.amountCents;
    jobs.push(paymentJob(account, { batchId, paymentId: payment.paymentId, amountCents: payment.amountCents, fields: fields.get(payment)! }));
  }
  return claimed;
}

/**
 * `queue` undefined: the rows are recorded and claimed, but their jobs wait for an approval. `after`:
 * the line the batch must be queued up to. Jobs added by an enqueue that is then refused are the
 * ones the other enqueue adds too (same ids): added once while they wait or run; once completed,
 * added again to find their payments final and send nothing.
 */
async function writeChunk(context: StipendContext, queue: Queue | undefined, batchId: string, claimed: ClaimedChunk, after: number): Promise<void> {
  if (queue && claimed.jobs.length > 0) await queue.addBulk(claimed.jobs);
  const refused = await context.batches.recordChunk(batchId, claimed.entries, claimed.counts, claimed.lastLine, after);
  if (refused) throw new EnqueueOvertakenError(batchId, refused);
}

function toNewPayment(payment: ValidatedPayment, fields: Record<string, string>): NewPayment {
  const { line, paymentId, payee, amountCents, participantId, reimbursement } = payment;
  return { line, paymentId, payee, amountCents, fields, reimbursement, ...(participantId === undefined ? {} : { participantId }) };
}

function definedFields(payment: ValidatedPayment): Record<string, string> {
  return Object.fromEntries(Object.entries(payment.fields).filter((entry): entry is [string, string] => entry[1] !== undefined));
}
