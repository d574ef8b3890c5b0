import { approvalSummary } from '../batches/approval.js';
import { writeBatchReport } from '../batches/report.js';
import { waitForBatch, workersListening } from '../batches/wait.js';
import type { Account } from '../config/load.js';
import type { StipendContext } from '../context.js';
import type { BatchRecord } from '../ledger/batches.js';
import { awaitingApprovalLine } from './approval-lines.js';
import { needsActionLine, settledExitCode } from './batch-outcome.js';
import { STATUS_EVERY_MS, formatDuration } from './duration.js';
import { EXIT } from './exit-codes.js';
import { describeBatch } from './output.js';
import { plural } from '../readable-numbers.js';
import { batchProgress } from './progress.js';
import { describeWaiting } from './waiting-status.js';


export interface FollowOptions {
  out?: string;
  workerInProcess: boolean;
  /** Stop waiting after this long (exit code EXIT.maxWait); the batch goes on in the workers. */
  maxWaitMs?: number;
  statusEveryMs?: number;
}

/**
 * What `run` and `retry` do once payments are queued: say so when no worker is listening, wait with
 * a progress bar until every row is final, write the report. Every `statusEveryMs` a line says
 * what waits and why (e.g. the provider asked to slow down, until when), so a long wait is never
 * silent. Ctrl-C, or `maxWaitMs` passing, stops the waiting, not the batch. A worker whose own
 * approval rule holds the batch ends the waiting as `run` ends for one the submitter's rule held
 * (exit 3). Returns the exit code: once settled, whether rows are left for a person or for
 * `stipend retry` (settledEnding).
 */
export async function followBatch(context: StipendContext, account: Account, batchId: string, options: FollowOptions): Promise<number> {
  const workers = () => workersListening(context, account);
  if (!options.workerInProcess && (await workers()) === 0) {
    process.stdout.write(`no worker is running for ${account.provider}/${account.name}: start one with \`stipend worker\` (or use --with-worker); waiting…\n`);
  }
  const stopWaiting = new AbortController();
  const onSignal = () => stopWaiting.abort('signal');
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const maxWait = options.maxWaitMs === undefined ? undefined : setTimeout(() => stopWaiting.abort('max-wait'), options.maxWaitMs);
  const progress = batchProgress();
  // One status line at a time: a slow one (a large batch) is not overlapped by the next, and one
  // still being made when the waiting ends is not printed after the last word.
  let following = true;
  let describing: Promise<void> | undefined;
  const statusLines = setInterval(() => {
    describing ??= workers()
      .then((running) => describeWaiting(context, account, batchId, running))
      .then((line) => {
        if (following) progress.note(line);
      })
      // A status line that could not be made is skipped; waiting itself reports Redis trouble.
      .catch(() => {})
      .finally(() => (describing = undefined));
  }, options.statusEveryMs ?? STATUS_EVERY_MS);
  const stopFollowing = () => {
    following = false;
    clearInterval(statusLines);
    clearTimeout(maxWait);
    progress.stop();
  };
  let batch: BatchRecord;
  try {
    const onProgress = (seen: BatchRecord) => {
      progress.update(seen);
      if (seen.state === 'awaiting_approval') stopWaiting.abort('held');
    };
    batch = await waitForBatch(context, batchId, { onProgress, signal: stopWaiting.signal });
    stopFollowing();
    process.stdout.write(`done: ${describeBatch(batch)}\n`);
  } catch (error) {
    stopFollowing();
    if (!stopWaiting.signal.aborted) throw error;
    if (stopWaiting.signal.reason === 'max-wait') return await stoppedAtMaxWait(context, account, batchId, options.maxWaitMs!);
    if (stopWaiting.signal.reason === 'held') {
      const held = await context.batches.get(batchId);
      process.stdout.write(`${await approvalSummary(context, held)}\n${awaitingApprovalLine(held)}\n`);
      return EXIT.awaitingApproval;
    }
    process.stdout.write(`stopped waiting; batch ${batchId} continues in the workers (stipend status ${batchId})\n`);
    return EXIT.interrupted;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  const report = await writeBatchReport(context, batchId, options.out ?? context.config.reportsDir);
  process.stdout.write(`report: ${report.csv}\n`);
  return settledEnding(batch);
}

/**
 * How `run` and `retry` end once the batch is settled: a line saying what is left for people, when
 * something is, and the exit code a scheduler acts on (EXIT.needsPerson, EXIT.someFailed or 0).
 */
export function settledEnding(batch: BatchRecord): number {
  const line = needsActionLine(batch);
  if (line !== undefined) process.stdout.write(`${line}\n`);
  return settledExitCode(batch);
}

async function stoppedAtMaxWait(context: StipendContext, account: Account, batchId: string, maxWaitMs: number): Promise<number> {
  const batch = await context.batches.get(batchId);
  process.stdout.write(
    `stopped waiting after ${formatDuration(maxWaitMs)} (--max-wait): ${plural(batch.accepted - batch.final, 'payment stays', 'payments stay')} queued for ${account.provider}/${account.name}; ` +
      `any running worker pays them (\`stipend worker\`), and stipend status ${batchId} shows where the batch stands\n`,
  );
  return EXIT.maxWait;
}
