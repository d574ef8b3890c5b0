import type { Queue } from 'bullmq';
import { describeActor } from '../src/audit/actor.js';
import type { Account } from '../src/config/load.js';
import type { StipendContext } from '../src/context.js';
import { type BatchRecord, isSettled } from '../src/ledger/batches.js';
import { FINAL_STATUSES, type PaymentLedger, type PaymentRef } from '../src/ledger/payments.js';
import type { Logger } from '../src/log.js';
import { paymentJob, paymentJobId } from '../src/queue/payment-job.js';
import { tryLock } from '../src/redis/lock.js';

/**
 * Never lose a row: BullMQ can end a job without our processor giving the payment a final status
 * (a job that stalled more often than maxStalledCount is failed inside BullMQ; a job added just
 * before Redis lost its last second of writes is gone). The sweeper looks at the payments of open
 * batches that are still not final and sets each on its way again:
 *
 *   no job        → the job is added again (the ledger decides what, if anything, is sent)
 *   job failed    → settled as abandoned: unknown if a call may have applied, else failed
 *   job completed → the job runs again
 *
 * A batch awaiting approval is left alone: its payments wait, jobless, for `stipend approve`, which
 * adds their jobs (no job is added only to be turned back by the approval fence, again and again).
 * A canceled batch is finished as cancelBatch finishes it: a payment still queued is canceled (a run
 * the approval fence turned back after the cancellation went past it leaves one), one sending goes
 * the way above, and its run settles it or, turned back, leaves it queued for the next sweep.
 *
 * One worker process sweeps at a time (a lock in Redis).
 */
export function startSweeper(context: StipendContext, queues: Map<Account, Queue>, log: Logger): { stop(): Promise<void> } {
  const { config, redis } = context;
  let running: Promise<void> | undefined;
  const timer = setInterval(() => {
    running ??= sweepOnce().finally(() => (running = undefined));
  }, config.sweepIntervalMs);

  async function sweepOnce(): Promise<void> {
    const lock = await tryLock(redis, context.keys.sweeperLock(), config.sweepIntervalMs * 2);
    if (!lock) return;
    try {
      await sweepOpenBatches(context, queues, log);
    } catch (error) {
      log.error({ err: error }, 'sweep failed; the next one tries again');
    } finally {
      await lock.release();
    }
  }

  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}

/** One sweep of every open batch of these queues' accounts. */
export async function sweepOpenBatches(context: StipendContext, queues: Map<Account, Queue>, log: Logger): Promise<void> {
  const { batches } = context;
  for (const batchId of await batches.openBatchIds()) {
    const batch = await batches.get(batchId).catch(() => undefined);
    if (!batch) continue;
    if (isSettled(batch)) {
      await batches.markSettled(batchId);
      continue;
    }
    // A batch still being enqueued belongs to its submitter (which resumes it after a crash); one
    // awaiting approval, to its approver.
    if (batch.state !== 'enqueued' && batch.state !== 'canceled') continue;
    const entry = [...queues].find(([a]) => a.provider === batch.provider && a.name === batch.account);
    if (entry) await sweepBatch(context, entry[0], entry[1], batch, log);
  }
}

const FINAL: ReadonlySet<string> = new Set(FINAL_STATUSES);

/**
 * A page of rows at a time, in three pipelined reads rather than calls per payment: the payments'
 * status (final ones are done with), then whether each open payment's job still waits or runs
 * (its hash exists without `finishedOn`), which is nearly all of them. Only a payment whose job is
 * gone or finished is looked at closely. Never BullMQ's getState for a live job: it searches the
 * queue's wait list, so a sweep of a large queued batch would take time quadratic in its size.
 */
async function sweepBatch(context: StipendContext, account: Account, queue: Queue, batch: BatchRecord, log: Logger): Promise<void> {
  const { batch_id: batchId } = batch;
  const ledger = context.payments(account);
  const canceledBy = batch.state === 'canceled' ? describeActor(batch.canceled_by ?? 'unknown', batch.canceled_by_name) : undefined;
  for await (const page of context.rows.pages(batchId)) {
    const refs = page.flatMap((row) => (row.kind === 'payment' ? [{ batchId, paymentId: row.paymentId }] : []));
    const statuses = await ledger.readMany(refs, ['status', 'round']);
    const open = [];
    for (const [i, ref] of refs.entries()) {
      const { status, round } = statuses[i]!;
      // No record: nothing to send (the report shows it); a final one: nothing to do.
      if (status == null || FINAL.has(status)) continue;
      if (canceledBy !== undefined && status === 'queued') {
        await ledger.cancel(ref, canceledBy);
        log.warn({ batchId, paymentId: ref.paymentId }, 'payment of a canceled batch was still queued; canceled');
        continue;
      }
      open.push({ ref, jobId: paymentJobId(batchId, ref.paymentId, Number(round ?? 0)) });
    }
    const jobs = await context.redis.pipeline(open.map(({ jobId }) => ['hmget', queue.toKey(jobId), 'timestamp', 'finishedOn'])).exec();
    for (const [i, { ref, jobId }] of open.entries()) {
      const [created, finishedOn] = (jobs?.[i]?.[1] ?? []) as (string | null)[];
      if (created != null && finishedOn == null) continue;
      await settleJob(ledger, account, queue, ref, jobId, log);
    }
  }
}

async function settleJob(ledger: PaymentLedger, account: Account, queue: Queue, ref: PaymentRef, jobId: string, log: Logger): Promise<void> {
  const record = await ledger.get(ref);
  if (!record || FINAL.has(record.status)) return;
  const job = await queue.getJob(jobId);
  const state = job ? await job.getState() : 'missing';
  const where = { batchId: ref.batchId, paymentId: ref.paymentId };
  if (state === 'missing') {
    const { name, data, opts } = paymentJob(account, { ...ref, amountCents: record.amount_cents, fields: record.fields }, record.round);
    await queue.add(name, data, opts);
    log.warn(where, 'payment had no job; added it again');
  } else if (state === 'failed') {
    await ledger.finalize(ref, { status: 'abandoned', code: 'JOB_FAILED', message: `its job ended without an outcome (${job?.failedReason ?? 'no reason given'})` });
    log.warn(where, 'payment\'s job had failed; settled as abandoned');
  } else if (state === 'completed') {
    await job!.retry('completed');
    log.warn(where, 'payment\'s job completed without a final status; running it again');
  }
}
