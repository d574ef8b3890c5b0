import { loadConfig } from '../config/load.js';
import { openContext } from '../context.js';
import { refuseWritingIntoInbox } from '../ingest/inbox-out.js';
import { describeActor } from '../audit/actor.js';
import { approvalSummary } from '../batches/approval.js';
import { writeBatchReport } from '../batches/report.js';
import { type BatchRecord, isSettled } from '../ledger/batches.js';
import { describeBatch } from './output.js';
import { plural, usd } from '../readable-numbers.js';
import { writeProblemsJson, writeProblemsText } from './status-problems.js';

/**
 * Where a batch stands, in one word, for `status --json`. `state` is only how far its enqueue got
 * (`enqueued` stays once every payment is final), so scripts reading it took a finished batch for
 * one still paying; `state` keeps its meaning for those already reading it.
 */
export function batchStage(batch: BatchRecord): 'enqueuing' | 'awaiting_approval' | 'paying' | 'complete' | 'canceled' {
  if (batch.state === 'canceled') return 'canceled';
  if (batch.state === 'enqueued') return isSettled(batch) ? 'complete' : 'paying';
  return batch.state;
}

/**
 * `stipend status <batchId>`: where a batch stands, from the ledger; with --problems, the rows that
 * need action and what to do next (status-problems.ts).
 */
export async function statusCommand(batchId: string, options: { json?: boolean; problems?: boolean; config?: string }): Promise<number> {
  const context = await openContext(await loadConfig({ path: options.config }));
  try {
    const batch = await context.batches.get(batchId);
    if (options.problems) {
      await (options.json ? writeProblemsJson : writeProblemsText)(context, batch, (text) => process.stdout.write(text));
    } else if (options.json) {
      // batch_id first, then the answer to "is it done?", then the ledger's fields as they are.
      const { batch_id, ...fields } = batch;
      const where = { complete: isSettled(batch), stage: batchStage(batch), pending: batch.accepted - batch.final };
      process.stdout.write(`${JSON.stringify({ batch_id, ...where, ...fields }, null, 2)}\n`);
    } else {
      process.stdout.write(
        [
          `batch ${batch.batch_id} (${batch.provider}/${batch.account}) from ${batch.source}, created ${batch.created_at}`,
          `${plural(batch.rows_total, 'row')}; ${plural(batch.accepted, 'payment')} requested (${usd(batch.accepted_cents)})`,
          `${isSettled(batch) ? 'complete' : 'in progress'}: ${describeBatch(batch)}`,
          ...(batch.n_conflict > 0
            ? [`${plural(batch.n_conflict, 'payment')} got a paid answer that conflicts with the ledger (a late paid after a not-paid verdict, or a second paid): check each with the provider; the report's conflict column names them`]
            : []),
          ...(batch.state === 'awaiting_approval' ? [await approvalSummary(context, batch), 'awaiting approval (stipend approve / stipend cancel)'] : []),
          ...(batch.approved_by ? [`approved by ${describeActor(batch.approved_by, batch.approved_by_name)} at ${batch.approved_at}`] : []),
          ...(batch.canceled_by ? [`canceled by ${describeActor(batch.canceled_by, batch.canceled_by_name)}`] : []),
          ...(batch.state === 'enqueuing'
            ? [`queued up to line ${batch.enqueued_line}: if its submitter stopped, submit ${batch.source} again to queue the rest, or give the rest up with stipend cancel ${batch.batch_id}`]
            : []),
          ...(batch.archived_at ? [`archived on ${batch.archived_at} (stipend archive): read from its files under ${context.config.archive.dir}; it can no longer change`] : []),
          ...(batch.abandoned_by
            ? [`its enqueue was abandoned by ${describeActor(batch.abandoned_by, batch.abandoned_by_name)} at ${batch.abandoned_at}: ${plural(batch.released, 'payment')} it had claimed without queuing ${batch.released === 1 ? 'was' : 'were'} released`]
            : []),
        ].join('\n') + '\n',
      );
    }
    return 0;
  } finally {
    await context.close();
  }
}

/** `stipend report <batchId>`: (re)writes the reconciliation report from the ledger. */
export async function reportCommand(batchId: string, options: { out?: string; config?: string }): Promise<number> {
  const config = await loadConfig({ path: options.config });
  await refuseWritingIntoInbox(options.out ?? config.reportsDir, config);
  const context = await openContext(config);
  try {
    const report = await writeBatchReport(context, batchId, options.out ?? config.reportsDir);
    if (!report.summary.complete) process.stdout.write('note: the batch is still in progress; pending rows are shown as queued or sending\n');
    process.stdout.write(`report: ${report.csv}\n`);
    return 0;
  } finally {
    await context.close();
  }
}
