import { personHere } from '../audit/actor.js';
import { approvalSummary } from '../batches/approval.js';
import { writeRejectedReport } from '../batches/report.js';
import { submitManifest } from '../batches/submit.js';
import { findAccount, loadConfig } from '../config/load.js';
import { openContext, type StipendContext } from '../context.js';
import { refuseWritingIntoInbox } from '../ingest/inbox-out.js';
import type { BatchRecord } from '../ledger/batches.js';
import { createLogger } from '../log.js';
import type { ManifestScan } from '../manifest/index.js';
import type { RunningWorkers, WorkerSide } from '../worker-side.js';
import { awaitingApprovalLine } from './approval-lines.js';
import { followBatch } from './follow-batch.js';
import { dryRunCommand } from './dry-run.js';
import { describeScan, printProblems } from './output.js';
import { plural } from '../readable-numbers.js';
import { withProgressLines } from './progress-lines.js';
import { printRejectedRows } from './rejected-lines.js';
import { stopWorkersInProcess } from './stop-workers.js';

export interface RunOptions {
  provider: string;
  account?: string;
  out?: string;
  allowPartial?: boolean;
  /** Pay it although another account of the provider has this file or one of its payments. */
  allowOtherAccount?: boolean;
  withWorker?: boolean;
  /** A name shown beside the submitter, who is the operating-system user and host (maker-checker compares those). */
  by?: string;
  /** Stop waiting after this long, in ms (exit code EXIT.maxWait); the payments stay queued. */
  maxWait?: number;
  /** How often a line says what waits and why, in ms (default STATUS_EVERY_MS). */
  statusEvery?: number;
  /** Tell what run would do, doing none of it (batches/dry-run.ts). */
  dryRun?: boolean;
  config?: string;
}

/** `stipend run`: validate, queue, wait until every row is final, write the report. */
export async function runCommand(file: string, options: RunOptions, workerSide: WorkerSide): Promise<number> {
  const config = await loadConfig({ path: options.config });
  const account = findAccount(config, options.provider, options.account);
  await refuseWritingIntoInbox(options.out ?? config.reportsDir, config);
  const context = await openContext(config);
  if (options.dryRun) {
    try {
      return await dryRunCommand(context, file, account, options);
    } finally {
      await context.close();
    }
  }
  let workers: RunningWorkers | undefined;
  // Until the batch is followed (followBatch takes SIGINT/SIGTERM from there), a stop lets the
  // in-process workers finish their calls, then ends the command: an enqueue it cuts short is
  // resumed by submitting the file again, or given up with `stipend cancel`.
  const stopEarly = () => void stopWorkersInProcess(workers).then(() => process.exit(130));
  const catchEarlyStops = (on: boolean) => {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      if (on) process.once(signal, stopEarly);
      else process.off(signal, stopEarly);
    }
  };
  try {
    if (options.withWorker) {
      catchEarlyStops(true);
      workers = await workerSide.startWorkers(context, [account], createLogger({ defaultLevel: 'warn' }));
    }
    const result = await withProgressLines((onProgress) => submitManifest(context, {
      file,
      account,
      allowPartial: options.allowPartial,
      allowOtherAccount: options.allowOtherAccount,
      submittedBy: personHere(options.by),
      onProgress,
    }));
    if (!result.accepted) {
      printProblems(result.scan, (line) => process.stdout.write(`${line}\n`));
      process.stdout.write(`rejected: ${result.refusal ?? describeScan(result.scan)}; nothing was queued\n`);
      return 1;
    }
    process.stdout.write(`batch ${result.batchId}: ${describeScan(result.scan)}\n`);
    const batch = await context.batches.get(result.batchId);
    if (batch.rejected > 0) await reportRejectedRows(context, batch, result.scan, options.out ?? config.reportsDir);
    if (batch.state === 'awaiting_approval') {
      process.stdout.write(`${await approvalSummary(context, batch)}\n${awaitingApprovalLine(batch)}\n`);
      return 3;
    }
    catchEarlyStops(false);
    return await followBatch(context, account, result.batchId, {
      out: options.out, workerInProcess: workers !== undefined, maxWaitMs: options.maxWait, statusEveryMs: options.statusEvery,
    });
  } finally {
    catchEarlyStops(false);
    await stopWorkersInProcess(workers);
    await context.close();
  }
}

/**
 * The rows --allow-partial left out: listed, and written to rejected.csv in the batch's report folder
 * at once, so the list is there also when run stops before the report (approval, --max-wait, Ctrl-C).
 * The folder is remembered as the report's (report-folder.ts): approve and the final report write
 * beside it, and rewrite rejected.csv the same from the ledger. The batch is queued by now, so a
 * file that cannot be written is a line on stderr, not a failed run.
 */
async function reportRejectedRows(context: StipendContext, batch: BatchRecord, scan: ManifestScan, outDir: string): Promise<void> {
  let csv: string | undefined;
  try {
    csv = await writeRejectedReport(context, batch, outDir);
  } catch (error) {
    process.stderr.write(`rejected.csv was not written (${error instanceof Error ? error.message : String(error)}); stipend report ${batch.batch_id} writes it with the report\n`);
  }
  const write = (line: string) => void process.stdout.write(`${line}\n`);
  write(`${plural(batch.rejected, 'row')} left out, not paid${csv === undefined ? '' : ` (all in ${csv})`}:`);
  printRejectedRows(scan, write, csv);
}
