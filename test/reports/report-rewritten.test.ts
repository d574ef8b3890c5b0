import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWorkers } from '../../jobs/workers.js';
import { submitManifest } from '../../src/batches/submit.js';
import { waitForBatch } from '../../src/batches/wait.js';
import { EXIT } from '../../src/commands/exit-codes.js';
import { reverseCommand } from '../../src/commands/reverse.js';
import { approveCommand, cancelCommand, resolveCommand, retryCommand } from '../../src/commands/settle.js';
import { writeReconciliation } from '../../src/reports/reconciliation.js';
import { rememberReportFolder } from '../../src/reports/report-folder.js';
import { printed } from '../helpers/printed.js';
import { parseReport, startStack, type TestStack } from '../helpers/stack.js';

/**
 * A command that changes a batch (resolve, retry, reverse, approve, cancel) rewrites the batch's
 * report where it was last written, else in reportsDir, and prints `report: <path>`: the file on
 * disk shows the new status without anyone running `stipend report`.
 */

async function reportOnDisk(csv: string): Promise<Map<string, Record<string, string>>> {
  return new Map(parseReport(await readFile(csv, 'utf8')).map((r) => [r.payment_id!, r]));
}

/** The stack's configuration file with a reportsDir of the test's own (never the checkout's ./reports). */
async function withReportsDir(stack: TestStack): Promise<string> {
  const reportsDir = join(stack.dir, 'reports-dir');
  const raw = JSON.parse(await readFile(stack.configFile, 'utf8')) as Record<string, unknown>;
  await writeFile(stack.configFile, JSON.stringify({ ...raw, reportsDir }));
  return reportsDir;
}

let files = 0;
async function submit(stack: TestStack, provider: string, lines: string[], submittedBy?: string): Promise<string> {
  const file = await stack.manifest(`rewritten-${(files += 1)}.csv`, lines.join('\n'));
  const submitted = await submitManifest(stack.context, { file, account: stack.account(provider), ...(submittedBy === undefined ? {} : { submittedBy: { identity: submittedBy } }) });
  if (!submitted.accepted) throw new Error('manifest refused');
  return submitted.batchId;
}

describe('after resolve, retry and reverse', () => {
  let stack: TestStack;
  /** Where `run` wrote the reports: not reportsDir, so each rewrite must find it. */
  let runOut: string;
  beforeAll(async () => {
    stack = await startStack({ providers: ['virtualrx', 'ctpayer'] });
    await withReportsDir(stack);
    runOut = join(stack.dir, 'run-out');
  });
  afterAll(() => stack?.close());

  it('resolve rewrites the report where it was written, and retry pays there', { timeout: 60_000 }, async () => {
    const sandbox = stack.sandboxes.virtualrx!;
    // Every answer is lost after the sandbox applied the payment: both rows end unknown.
    sandbox.setFaults([{ kind: 'drop-after' }]);
    const workers = await stack.startWorkers([stack.account('virtualrx')]);
    const batchId = await submit(stack, 'virtualrx', [
      'payment_id,CustId,ProgramId,ClaimReferenceNumber,ClientGroupID,amount_cents',
      'rw-1,20230226001,7311,CLM-RW-1,GRP-1,1500',
      'rw-2,20230226002,7311,CLM-RW-2,GRP-1,2500',
    ]);
    await waitForBatch(stack.context, batchId, { pollMs: 50 });
    const { csv } = await writeReconciliation(stack.context, batchId, runOut);
    expect([...(await reportOnDisk(csv)).values()].map((r) => r.status)).toEqual(['unknown', 'unknown']);
    const applied = sandbox.transactions().find((t) => t.key === 'CLM-RW-1')!.id;

    const paid = await printed(() => resolveCommand(batchId, 'rw-1', { paid: applied, by: 'alice', config: stack.configFile }));
    expect(paid.code).toBe(0);
    expect(paid.stdout).toContain(`report: ${csv}\n`);
    expect((await reportOnDisk(csv)).get('rw-1')).toMatchObject({ status: 'paid', provider_reference: applied });

    // A person found rw-2 not paid (taken as such here): failed, which retry pays again.
    const notPaid = await printed(() => resolveCommand(batchId, 'rw-2', { notPaid: true, by: 'alice', config: stack.configFile }));
    expect(notPaid.stdout).toContain(`report: ${csv}\n`);
    expect((await reportOnDisk(csv)).get('rw-2')).toMatchObject({ status: 'failed', provider_code: 'RESOLVED_NOT_PAID' });

    sandbox.setFaults([]);
    const retried = await printed(() => retryCommand(batchId, { config: stack.configFile }, { startWorkers }));
    expect(retried.code).toBe(EXIT.ok);
    expect(retried.stdout).toContain(`report: ${csv}\n`);
    expect((await reportOnDisk(csv)).get('rw-2')).toMatchObject({ status: 'paid', attempts: '2' });
    await workers.close();
  });

  it('a retry that stops waiting (--max-wait) still rewrites the report: the retried rows are on their way', { timeout: 60_000 }, async () => {
    const sandbox = stack.sandboxes.virtualrx!;
    // VirtualRx's own "retry later" answer, every time: the payment ends failed, nothing applied.
    sandbox.setFaults([{ kind: 'retryable' }]);
    const workers = await stack.startWorkers([stack.account('virtualrx')]);
    const batchId = await submit(stack, 'virtualrx', ['payment_id,CustId,ProgramId,ClaimReferenceNumber,ClientGroupID,amount_cents', 'rw-vrx-1,20230226003,7311,CLM-RW-3,GRP-1,5000']);
    expect(await waitForBatch(stack.context, batchId, { pollMs: 50 })).toMatchObject({ n_failed: 1 });
    const { csv } = await writeReconciliation(stack.context, batchId, runOut);
    await workers.close();
    sandbox.setFaults([]);

    // No worker serves VirtualRx now: the retried payment waits in its queue.
    const retried = await printed(() => retryCommand(batchId, { maxWait: 300, config: stack.configFile }, { startWorkers }));
    expect(retried.code).toBe(EXIT.maxWait);
    expect(retried.stdout).toContain(`report: ${csv}\n`);
    expect(retried.stdout).toContain(`note: batch ${batchId} is not settled yet`);
    expect((await reportOnDisk(csv)).get('rw-vrx-1')).toMatchObject({ status: 'queued' });
    expect(JSON.parse(await readFile(join(runOut, batchId, 'summary.json'), 'utf8'))).toMatchObject({ complete: false });
  });

  it('reverse rewrites the report with the reversal', { timeout: 60_000 }, async () => {
    const workers = await stack.startWorkers([stack.account('ctpayer')]);
    const batchId = await submit(stack, 'ctpayer', ['payment_id,cardId,amount_cents,description', 'rw-ct-1,1000000003,1250,Visit 1', 'rw-ct-2,1000000004,2000,Visit 1']);
    await waitForBatch(stack.context, batchId, { pollMs: 50 });
    await workers.close();
    const { csv } = await writeReconciliation(stack.context, batchId, runOut);

    const reversed = await printed(() => reverseCommand(batchId, { paymentId: ['rw-ct-1'], reason: 'Paid to the wrong participant', by: 'alice', config: stack.configFile }));
    expect(reversed.code).toBe(0);
    expect(reversed.stdout).toContain(`report: ${csv}\n`);
    const rows = await reportOnDisk(csv);
    expect(rows.get('rw-ct-1')).toMatchObject({ status: 'reversed', reversal_reason: 'Paid to the wrong participant', reversal_by: 'alice' });
    expect(rows.get('rw-ct-2')).toMatchObject({ status: 'paid', reversal_reference: '' });
  });
});

describe('after approve and cancel', () => {
  let stack: TestStack;
  let reportsDir: string;
  beforeAll(async () => {
    stack = await startStack({ providers: ['ctpayer'], account: { approval: 'always' } });
    reportsDir = await withReportsDir(stack);
  });
  afterAll(() => stack?.close());

  const MANIFEST = ['payment_id,cardId,amount_cents,description', 'ap-1,1000000011,1000,Visit 1', 'ap-2,1000000012,2000,Visit 1'];

  it('approve: rows awaiting approval become queued in the report on disk, which says it is not final yet', async () => {
    const batchId = await submit(stack, 'ctpayer', MANIFEST, 'maker');
    // `stipend report` while the batch waits: nothing is on its way yet.
    const { csv } = await writeReconciliation(stack.context, batchId, join(stack.dir, 'approvals'));
    expect([...(await reportOnDisk(csv)).values()].map((r) => r.status)).toEqual(['awaiting_approval', 'awaiting_approval']);

    // No worker runs: the rows stay queued, as the approver's report shows them.
    const approved = await printed(() => approveCommand(batchId, { by: 'checker', config: stack.configFile }));
    expect(approved.code).toBe(0);
    expect(approved.stdout).toContain(`report: ${csv}\n`);
    expect(approved.stdout).toContain(`stipend report ${batchId} writes the final report once stipend status ${batchId} says complete`);
    expect([...(await reportOnDisk(csv)).values()].map((r) => r.status)).toEqual(['queued', 'queued']);
  });

  it('cancel of a batch never reported writes its report in reportsDir', async () => {
    const batchId = await submit(stack, 'ctpayer', MANIFEST.map((l) => l.replace('ap-', 'cn-')), 'maker');
    const canceled = await printed(() => cancelCommand(batchId, { by: 'checker', config: stack.configFile }));
    expect(canceled.code).toBe(0);
    const csv = join(reportsDir, batchId, 'reconciliation.csv');
    expect(canceled.stdout).toContain(`report: ${csv}\n`);
    expect(canceled.stdout).not.toContain('note:');
    expect((await reportOnDisk(csv)).get('cn-1')).toMatchObject({ status: 'failed', provider_code: 'CANCELED' });
  });

  it('a report that cannot be rewritten is told on stderr; the change stands and the exit code is the command\'s', async () => {
    const batchId = await submit(stack, 'ctpayer', MANIFEST.map((l) => l.replace('ap-', 'nf-')), 'maker');
    // The folder the report was written to is now a file: nothing can be written under it.
    const gone = join(stack.dir, 'gone');
    await writeFile(gone, 'not a folder');
    await rememberReportFolder(stack.context, batchId, gone);
    const canceled = await printed(() => cancelCommand(batchId, { by: 'checker', config: stack.configFile }));
    expect(canceled.code).toBe(0);
    expect(canceled.stdout).not.toContain('report:');
    expect(canceled.stderr).toMatch(new RegExp(`^the change is recorded, but the report was not rewritten \\(.+\\); write it with stipend report ${batchId} \\[--out <dir>\\]\\n$`));
    expect(await stack.context.batches.get(batchId)).toMatchObject({ state: 'canceled' });
  });
});
