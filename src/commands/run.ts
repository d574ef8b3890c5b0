import { Queue } from 'bullmq';
import { submitManifest, waitForBatch } from '../api.js';
import { findAccount, loadConfig } from '../config/load.js';
import { openContext } from '../context.js';
import { createLogger } from '../log.js';
import { bullPrefix, queueName } from '../queue/payment-job.js';
import { type RunningWorkers, startWorkers } from '../queue/workers.js';
import { writeReconciliation } from '../reports/reconciliation.js';
import { describeBatch, describeScan, printProblems } from './output.js';
import { batchProgress } from './progress.js';

export interface RunOptions {
  provider: string;
  account?: string;
  out?: string;
  allowPartial?: boolean;
  withWorker?: boolean;
  config?: string;
}

/** `stipend run`: validate, queue, wait until every row is final, write the report. */
export async function runCommand(file: string, options: RunOptions): Promise<number> {
  const config = await loadConfig({ path: options.config });
  const account = findAccount(config, options.provider, options.account);
  const context = await openContext(config);
  let workers: RunningWorkers | undefined;
  const stopWaiting = new AbortController();
  const onSignal = () => stopWaiting.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    if (options.withWorker) workers = await startWorkers(context, [account], createLogger({ level: 'warn' }));
    const result = await submitManifest(context, { file, account, allowPartial: options.allowPartial });
    if (!result.accepted) {
      printProblems(result.scan, (line) => process.stdout.write(`${line}\n`));
      process.stdout.write(`rejected: ${describeScan(result.scan)}; nothing was queued\n`);
      return 1;
    }
    const { batchId } = result;
    process.stdout.write(`batch ${batchId}: ${describeScan(result.scan)}\n`);
    if (!workers && (await countWorkers(context.redis, config.prefix, account)) === 0) {
      process.stdout.write(`no worker is running for ${account.provider}/${account.name}: start one with \`stipend worker\` (or use --with-worker); waiting…\n`);
    }

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
    }
    const report = await writeReconciliation(context, batchId, options.out ?? config.reportsDir);
    process.stdout.write(`report: ${report.csv}\n`);
    return 0;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await workers?.close();
    await context.close();
  }
}

async function countWorkers(connection: import('ioredis').Redis, prefix: string, account: Parameters<typeof queueName>[0]): Promise<number> {
  const queue = new Queue(queueName(account), { connection, prefix: bullPrefix(prefix) });
  try {
    return await queue.getWorkersCount();
  } finally {
    await queue.close();
  }
}
