import type { StipendContext } from '../context.js';
import { joinInside } from '../join-inside.js';
import type { BatchRecord } from '../ledger/batches.js';
import { writeReconciliation } from '../reports/reconciliation.js';
import { writeRejectedCsv } from '../reports/rejected-csv.js';
import { rememberReportFolder, reportFolder } from '../reports/report-folder.js';

/**
 * A batch's report as the commands write it: <out>/<batchId>/reconciliation.csv, summary.json and
 * rejected.csv, from the ledger (reports/), under the folder remembered as the batch's
 * (reports/report-folder.ts) so a later change rewrites the file people already have.
 */

// Where `retry` writes the report of the batch it follows, unless told otherwise.
export { reportFolder };

/**
 * Writes the batch's report under `outDir` and remembers that folder as its report folder; with
 * `remember: false` (a copy for a download, its folder removed once sent) the folder is not remembered.
 */
export function writeBatchReport(context: StipendContext, batchId: string, outDir: string, options?: { remember?: boolean }): ReturnType<typeof writeReconciliation> {
  return writeReconciliation(context, batchId, outDir, options);
}

/**
 * Only rejected.csv, at once, for the rows --allow-partial left out of a batch just queued (the full
 * report comes when the batch is settled), its folder remembered as the report's. Returns its path,
 * or undefined when the batch has no rejected row.
 */
export async function writeRejectedReport(context: StipendContext, batch: BatchRecord, outDir: string): Promise<string | undefined> {
  const written = await writeRejectedCsv(context, batch, joinInside(outDir, batch.batch_id));
  await rememberReportFolder(context, batch.batch_id, outDir);
  return written?.path;
}

/** What a command that changed a batch says about its rewritten report: stdout, or stderr when it failed. */
export interface RewriteNote {
  stdout: string;
  stderr: string;
}

/**
 * After approve, cancel, resolve, retry or reverse changed a batch: rewrites its report where it
 * was last written (`out` when the command was given one; reportsDir for a batch never reported), so
 * the file finance has shows the change at once. A batch not settled yet is written as it stands, its
 * pending rows `awaiting_approval`, `queued` or `sending`, and the note says how to get the final one.
 *
 * The change is already recorded when this runs, so a report that cannot be written (a folder gone
 * or not writable) is told on stderr and does not turn the command into a failure: the ledger is the
 * record, and `stipend report` writes the file from it at any time.
 */
export async function rewriteReport(context: StipendContext, batchId: string, out?: string): Promise<RewriteNote> {
  try {
    const report = await writeReconciliation(context, batchId, out ?? (await reportFolder(context, batchId)));
    const pending = report.summary.complete
      ? ''
      : `note: batch ${batchId} is not settled yet; its pending rows are shown as they stand, and stipend report ${batchId} writes the final report once stipend status ${batchId} says complete\n`;
    return { stdout: `report: ${report.csv}\n${pending}`, stderr: '' };
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    return { stdout: '', stderr: `the change is recorded, but the report was not rewritten (${reason}); write it with stipend report ${batchId} [--out <dir>]\n` };
  }
}

/** Prints what rewriteReport said, each part where it belongs. */
export function printRewriteNote(note: RewriteNote): void {
  if (note.stdout) process.stdout.write(note.stdout);
  if (note.stderr) process.stderr.write(note.stderr);
}
