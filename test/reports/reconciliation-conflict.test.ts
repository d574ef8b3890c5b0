import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { personHere } from '../../src/audit/actor.js';
import { resolvePayment } from '../../src/batches/settle.js';
import { submitManifest } from '../../src/batches/submit.js';
import { waitForBatch } from '../../src/batches/wait.js';
import type { FinalizeResult, PaymentRef } from '../../src/ledger/payments.js';
import { writeReconciliation } from '../../src/reports/reconciliation.js';
import { parseReport, startStack, type TestStack } from '../helpers/stack.js';
import { stipend } from '../helpers/stipend-process.js';

/**
 * A `paid` answer that reaches the ledger after a person settled the payment (a stalled worker's
 * call reporting back late) is not dropped: the report's `conflict` column, summary.json and
 * `stipend status` show it, while the row keeps the status the person gave it.
 */


let stack: TestStack;
let batchId: string;
/** The sandbox's own id of each payment it applied, by ClaimReferenceNumber. */
let appliedIds: Map<string, string>;

beforeAll(async () => {
  stack = await startStack({ providers: ['virtualrx'] });
  // Every answer is lost after the sandbox applied the payment: each row ends unknown, money moved.
  stack.sandboxes.virtualrx!.setFaults([{ kind: 'drop-after', rate: 1 }]);
  await stack.startWorkers();
  const file = await stack.manifest('late.csv', [
    'payment_id,CustId,ProgramId,ClaimReferenceNumber,ClientGroupID,amount_cents',
    'late-1,20230226001,7311,CLM-1,GRP-1,1500',
    'late-2,20230226002,7311,CLM-2,GRP-1,2500',
    'late-3,20230226003,7311,CLM-3,GRP-1,3500',
  ].join('\n'));
  const submitted = await submitManifest(stack.context, { file, account: stack.account('virtualrx') });
  if (!submitted.accepted) throw new Error('manifest refused');
  batchId = submitted.batchId;
  const batch = await waitForBatch(stack.context, batchId, { pollMs: 50 });
  if (batch.n_unknown !== 3) throw new Error(`expected 3 unknown rows, got ${JSON.stringify(batch)}`);
  appliedIds = new Map(stack.sandboxes.virtualrx!.transactions().map((t) => [t.key!, t.id]));
});
afterAll(() => stack?.close());

const ref = (paymentId: string): PaymentRef => ({ batchId, paymentId });

/** The provider's answer to the cut-off call arriving at last, as the worker records it. */
async function lateAnswer(paymentId: string, reference: string): Promise<FinalizeResult> {
  const ledger = stack.context.payments(stack.account('virtualrx'));
  return ledger.finalize(ref(paymentId), { status: 'paid', reference, code: '0', message: 'Payment accepted' });
}


it('shows a late or second paid answer as a conflict, keeping the status a person gave the row', { timeout: 60_000 }, async () => {
  // A person wrongly finds late-1 not paid, then the lost answer arrives: it was paid after all.
  await resolvePayment(stack.context, ref('late-1'), { notPaid: true }, personHere('alice'));
  expect(await lateAnswer('late-1', appliedIds.get('CLM-1')!)).toBe('conflict');
  // late-2 is settled paid under one reference; an answer naming another one arrives.
  await resolvePayment(stack.context, ref('late-2'), { paid: appliedIds.get('CLM-2')! }, personHere('alice'));
  expect(await lateAnswer('late-2', 'VRX-SOMETHING-ELSE')).toBe('conflict');
  // late-3: the same answer again agrees with the verdict, which is no conflict.
  await resolvePayment(stack.context, ref('late-3'), { paid: appliedIds.get('CLM-3')! }, personHere('alice'));
  expect(await lateAnswer('late-3', appliedIds.get('CLM-3')!)).toBe('ignored');

  const report = await writeReconciliation(stack.context, batchId, stack.dir);
  const rows = new Map(parseReport(await readFile(report.csv, 'utf8')).map((r) => [r.payment_id!, r]));
  expect(rows.get('late-1')).toMatchObject({ status: 'failed', provider_code: 'RESOLVED_NOT_PAID', provider_reference: '', conflict: `LATE_PAID_AFTER_NOT_PAID (reference ${appliedIds.get('CLM-1')})` });
  expect(rows.get('late-2')).toMatchObject({ status: 'paid', provider_reference: appliedIds.get('CLM-2'), conflict: 'SECOND_PAID (reference VRX-SOMETHING-ELSE)' });
  expect(rows.get('late-3')).toMatchObject({ status: 'paid', provider_reference: appliedIds.get('CLM-3'), conflict: '' });

  // The counts are the verdicts', not the late answers': a conflict moves no money in the ledger.
  expect(report.summary.conflicts).toBe(2);
  expect(report.summary.statuses).toEqual({ failed: { count: 1, cents: 1500 }, paid: { count: 2, cents: 6000 } });
  expect(JSON.parse(await readFile(`${report.dir}/summary.json`, 'utf8'))).toMatchObject({ conflicts: 2 });

  const status = await stipend(['--config', stack.configFile, 'status', batchId]);
  expect(status.code).toBe(0);
  expect(status.stdout).toMatch(/complete: 2 paid \(\$60\.00\), 1 failed \(\$15\.00\), 2 with a conflicting paid answer/);
  expect(status.stdout).toMatch(/^2 payments got a paid answer that conflicts with the ledger/m);
  const json = await stipend(['--config', stack.configFile, 'status', batchId, '--json']);
  expect(JSON.parse(json.stdout)).toMatchObject({ n_conflict: 2, n_paid: 2, n_failed: 1 });
});
