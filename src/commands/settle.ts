import { describeActor, personHere } from '../audit/actor.js';
import { approvalSummary, approveBatch, refuseUnfitApprover } from '../batches/approval.js';
import { cancelBatch } from '../batches/cancel.js';
import { printRewriteNote, reportFolder, rewriteReport } from '../batches/report.js';
import { resolvePayment, retryFailed } from '../batches/settle.js';
import { loadConfig } from '../config/load.js';
import { openContext } from '../context.js';
import { UsageError } from '../errors.js';
import { refuseWritingIntoInbox } from '../ingest/inbox-out.js';
import { isSettled } from '../ledger/batches.js';
import { createLogger } from '../log.js';
import { resolveReversal } from '../reversals/resolve.js';
import type { RunningWorkers, WorkerSide } from '../worker-side.js';
import { EXIT } from './exit-codes.js';
import { followBatch, settledEnding } from './follow-batch.js';
import { count, plural } from '../readable-numbers.js';
import { stopWorkersInProcess } from './stop-workers.js';

/**
 * `stipend resolve`: a person's verdict on an `unknown` payment (--paid / --not-paid) or on a
 * `reversal_unknown` (--reversed / --not-reversed), recorded with who and when; the batch's report
 * is rewritten to show it (as after approve, cancel, retry and reverse).
 */
export async function resolveCommand(
  batchId: string,
  paymentId: string,
  options: { paid?: string; notPaid?: boolean; reversed?: string; notReversed?: boolean; by: string; config?: string },
): Promise<number> {
  const verdicts = [options.paid !== undefined, options.notPaid === true, options.reversed !== undefined, options.notReversed === true];
  if (verdicts.filter(Boolean).length !== 1) throw new UsageError('say one of --paid <reference>, --not-paid, --reversed <reference> or --not-reversed');
  const by = personHere(options.by);
  const context = await openContext(await loadConfig({ path: options.config }));
  try {
    const ref = { batchId, paymentId };
    if (options.reversed !== undefined || options.notReversed) {
      const verdict = options.reversed !== undefined ? { reversed: options.reversed } : ({ notReversed: true } as const);
      const record = await resolveReversal(context, ref, verdict, by);
      process.stdout.write(`payment ${paymentId} of batch ${batchId}: ${record.reversal_message}${record.status === 'reversed' ? ` (reversal reference ${record.reversal_reference})` : ''}\n`);
      if (record.status === 'paid') process.stdout.write(`it is paid; it can be reversed again with: stipend reverse ${batchId} --payment-id ${paymentId} --reason <text>\n`);
      printRewriteNote(await rewriteReport(context, batchId));
      return 0;
    }
    const verdict = options.paid !== undefined ? { paid: options.paid } : ({ notPaid: true } as const);
    const record = await resolvePayment(context, ref, verdict, by);
    process.stdout.write(`payment ${paymentId} of batch ${batchId}: ${record.message}${record.reference ? ` (reference ${record.reference})` : ''}\n`);
    if (record.status === 'failed') process.stdout.write(`it can be paid again with: stipend retry ${batchId}\n`);
    printRewriteNote(await rewriteReport(context, batchId));
    return 0;
  } finally {
    await context.close();
  }
}

/**
 * `stipend retry`: sends a batch's failed payments round again, makes sure those already queued
 * (by a retry cut short) have their job, then follows the batch like `run`. The report goes where
 * the batch's report was last written unless --out says otherwise.
 */
export async function retryCommand(
  batchId: string,
  options: { out?: string; withWorker?: boolean; maxWait?: number; statusEvery?: number; config?: string },
  workerSide: WorkerSide,
): Promise<number> {
  const config = await loadConfig({ path: options.config });
  // The folder the report was last written in was checked when it was chosen.
  if (options.out !== undefined) await refuseWritingIntoInbox(options.out, config);
  const context = await openContext(config);
  let workers: RunningWorkers | undefined;
  try {
    const { account, retried, alreadyQueued, refused } = await retryFailed(context, batchId);
    for (const reason of refused) process.stdout.write(`not retried: ${reason}\n`);
    const queued = alreadyQueued > 0 ? `; ${count(alreadyQueued)} already queued` : '';
    process.stdout.write(`batch ${batchId}: ${plural(retried, 'failed payment')} sent again${queued}\n`);
    if (retried + alreadyQueued === 0) {
      // Nothing was sent: a settled batch still ends as run ends it, so a scheduler retrying it
      // nightly learns that rows wait for a person (or could not be retried) rather than 0.
      const batch = await context.batches.get(batchId);
      return isSettled(batch) ? settledEnding(batch) : EXIT.ok;
    }
    if (options.withWorker) workers = await workerSide.startWorkers(context, [account], createLogger({ defaultLevel: 'warn' }));
    const out = options.out ?? (await reportFolder(context, batchId));
    const code = await followBatch(context, account, batchId, {
      out, workerInProcess: workers !== undefined, maxWaitMs: options.maxWait, statusEveryMs: options.statusEvery,
    });
    // followBatch writes the report once every row is final; when it stopped waiting before, the
    // report still showed these payments failed: it shows them on their way instead.
    if (code === EXIT.maxWait || code === EXIT.interrupted) printRewriteNote(await rewriteReport(context, batchId, out));
    return code;
  } finally {
    await stopWorkersInProcess(workers);
    await context.close();
  }
}

/**
 * `stipend approve`: shows what is being approved, then releases the batch. The approver is the
 * operating-system user and host running it (--by only adds a name shown beside them), refused
 * when that is who submitted the batch (ApprovalRefusedError, exit 2).
 */
export async function approveCommand(batchId: string, options: { by?: string; config?: string }): Promise<number> {
  const context = await openContext(await loadConfig({ path: options.config }));
  try {
    const approver = personHere(options.by);
    const waiting = await context.batches.get(batchId);
    // Refused in one line before anything is shown.
    refuseUnfitApprover(waiting, approver);
    process.stdout.write(`${await approvalSummary(context, waiting)}\n`);
    const batch = await approveBatch(context, batchId, approver);
    process.stdout.write(`approved by ${describeActor(approver.identity, approver.displayName)}: ${batch.accepted} payments queued; follow with stipend status ${batchId}\n`);
    printRewriteNote(await rewriteReport(context, batchId));
    return 0;
  } finally {
    await context.close();
  }
}

/**
 * `stipend cancel`: drops a batch awaiting approval (nothing was or will be sent), or abandons an
 * interrupted enqueue (what it queued is paid, the rest released).
 */
export async function cancelCommand(batchId: string, options: { by?: string; config?: string }): Promise<number> {
  const context = await openContext(await loadConfig({ path: options.config }));
  try {
    const canceler = personHere(options.by);
    const who = describeActor(canceler.identity, canceler.displayName);
    const batch = await cancelBatch(context, batchId, canceler);
    if (batch.state === 'enqueued') {
      // An interrupted enqueue, abandoned: what it queued is still paid.
      process.stdout.write(`batch ${batchId}: its interrupted enqueue abandoned by ${who}; the ${batch.accepted} payments it queued are paid as usual (follow with stipend status ${batchId}), ${batch.released} it claimed without queuing were released for a later manifest\n`);
    } else {
      process.stdout.write(`batch ${batchId} canceled by ${who}: ${batch.accepted} payments not sent\n`);
    }
    printRewriteNote(await rewriteReport(context, batchId));
    return 0;
  } finally {
    await context.close();
  }
}
