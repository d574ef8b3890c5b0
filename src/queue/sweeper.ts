import type { Queue } from 'bullmq';
import type { Account } from '../config/load.js';
import type { StipendContext } from '../context.js';
import { isSettled } from '../ledger/batches.js';
import { FINAL_STATUSES } from '../ledger/payments.js';
import type { Logger } from '../log.js';
import { paymentJob, paymentJobId } from './payment-job.js';
import { tryLock } from './redis-lock.js';

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
 * One worker process sweeps at a time (a lock in Redis).
 */
export function startSweeper(context: StipendContext, queues: Map<Account, Queue>, log: Logger): { stop(): Promise<void> } {
  const { config, redis, batches } = context;
  const lockKey = `${config.prefix}:sweeper`;
  let running: Promise<void> | undefined;
  const timer = setInterval(() => {
    running ??= sweepOnce().finally(() => (running = undefined));
  }, config.sweepIntervalMs);

  async function sweepOnce(): Promise<void> {
    const lock = await tryLock(redis, lockKey, config.sweepIntervalMs * 2);
    if (!lock) return;
    try {
      for (const batchId of await batches.openBatchIds()) {
        const batch = await batches.get(batchId).catch(() => undefined);
        if (!batch) continue;
        if (isSettled(batch)) {
          await batches.markSettled(batchId);
          continue;
        }
        // A batch still being enqueued belongs to its submitter (which resumes it after a crash).
        if (batch.state !== 'enqueued') continue;
        const entry = [...queues].find(([a]) => a.provider === batch.provider && a.name === batch.account);
        if (entry) await sweepBatch(context, entry[0], entry[1], batchId, log);
      }
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

async function sweepBatch(context: StipendContext, account: Account, queue: Queue, batchId: string, log: Logger): Promise<void> {
  const ledger = context.payments(account);
  for await (const page of context.rows.pages(batchId)) {
    for (const row of page) {
      if (row.s !== 'payment') continue;
      const ref = { batchId, paymentId: row.p };
      const record = await ledger.get(ref);
      if (!record || (FINAL_STATUSES as readonly string[]).includes(record.status)) continue;
      const jobId = paymentJobId(batchId, row.p, record.round);
      const job = await queue.getJob(jobId);
      const state = job ? await job.getState() : 'missing';
      if (state === 'missing') {
        const { name, data, opts } = paymentJob(account, { batchId, paymentId: row.p, amountCents: record.amount_cents, fields: record.fields }, record.round);
        await queue.add(name, data, opts);
        log.warn({ batchId, paymentId: row.p }, 'payment had no job; added it again');
      } else if (state === 'failed') {
        await ledger.finalize(ref, { status: 'abandoned', code: 'JOB_FAILED', message: `its job ended without an outcome (${job?.failedReason ?? 'no reason given'})` });
        log.warn({ batchId, paymentId: row.p }, 'payment\'s job had failed; settled as abandoned');
      } else if (state === 'completed') {
        await job!.retry('completed');
        log.warn({ batchId, paymentId: row.p }, 'payment\'s job completed without a final status; running it again');
      }
    }
  }
}
