import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { waitForBatch } from '../api.js';
import type { Account } from '../config/load.js';
import type { StipendContext } from '../context.js';
import { logBullErrors } from '../queue/bull-errors.js';
import { bullPrefix, queueName } from '../queue/payment-job.js';
import { writeReconciliation } from '../reports/reconciliation.js';
import { describeBatch } from './output.js';
import { batchProgress } from './progress.js';

/**
 * What `run` and `retry` do once payments are queued: say so when no worker is listening, wait with
 * a progress bar until every row is final (Ctrl-C stops waiting, not the batch), write the report.
 * Returns the exit code.
 */
export async function followBatch(
  context: StipendContext,
  account: Account,
  batchId: string,
  options: { out?: string; workerInProcess: boolean },
): Promise<number> {
  if (!options.workerInProcess && (await countWorkers(context.redis, context.config.prefix, account)) === 0) {
    process.stdout.write(`no worker is running for ${account.provider}/${account.name}: start one with \`stipend worker\` (or use --with-worker); waiting…\n`);
  }
  const stopWaiting = new AbortController();
  const onSignal = () => stopWaiting.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const progress = batchProgress();
  try {
    const batch = await waitForBatch(context, batchId, { onProgress: progress.update, signal: stopWaiting.signal });
    progress.stop();
    process.stdout.write(`done: ${describeBatch(batch)}\n`);
  } catch (error) {
    progress.stop();
    if (!stopWaiting.signal.aborted) throw error;
    process.stdout.write(`stopped waiting; batch ${batchId} continues in the workers (stipend status ${batchId})\n`);
    return 130;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  const report = await writeReconciliation(context, batchId, options.out ?? context.config.reportsDir);
  process.stdout.write(`report: ${report.csv}\n`);
  return 0;
}

async function countWorkers(connection: Redis, prefix: string, account: Account): Promise<number> {
  const queue = logBullErrors(new Queue(queueName(account), { connection, prefix: bullPrefix(prefix) }), { queue: queueName(account) });
  try {
    return await queue.getWorkersCount();
  } finally {
    await queue.close();
  }
}
