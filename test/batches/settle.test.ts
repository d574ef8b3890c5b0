import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { personHere } from '../../src/audit/actor.js';
import { auditEntries } from '../../src/audit/audit-trail.js';
import { resolvePayment, retryFailed } from '../../src/batches/settle.js';
import { submitManifest } from '../../src/batches/submit.js';
import { waitForBatch } from '../../src/batches/wait.js';
import { writeReconciliation } from '../../src/reports/reconciliation.js';
import { parseReport, startStack, type TestStack } from '../helpers/stack.js';

/** People settle what software cannot: `resolve` an unknown payment, `retry` failed ones. */

let stack: TestStack;
beforeAll(async () => {
  stack = await startStack({ providers: ['virtualrx'] });
  await stack.startWorkers();
});
afterAll(() => stack?.close());

const HEADER = 'payment_id,CustId,ProgramId,ClaimReferenceNumber,ClientGroupID,amount_cents';

async function report(batchId: string) {
  const written = await writeReconciliation(stack.context, batchId, stack.dir);
  const rows = parseReport(await readFile(written.csv, 'utf8'));
  return { summary: written.summary, byId: new Map(rows.map((r) => [r.payment_id!, r])) };
}

it('settles unknown payments by hand, retries the failed ones, and pays each exactly once', async () => {
  const sandbox = stack.sandboxes.virtualrx!;
  sandbox.setFaults([
    { kind: 'drop-after', times: 1, match: { CustId: '20230226001' } }, // applied, answer lost
    { kind: 'drop-before', times: 1, match: { CustId: '20230226002' } }, // never applied
    { kind: 'retryable', match: { CustId: '20230226003' } }, // VirtualRx says retry later, every time
  ]);
  const file = await stack.manifest('settle.csv', [HEADER, 's-1,20230226001,7311,C1,G1,1000', 's-2,20230226002,7311,C2,G1,2000', 's-3,20230226003,7311,C3,G1,3000'].join('\n'));
  const submitted = await submitManifest(stack.context, { file, account: stack.account('virtualrx') });
  if (!submitted.accepted) throw new Error('manifest rejected');
  const { batchId } = submitted;
  await waitForBatch(stack.context, batchId, { pollMs: 50 });
  let { byId } = await report(batchId);
  expect([...byId.values()].map((r) => r.status)).toEqual(['unknown', 'unknown', 'failed']);

  // retry never touches unknown payments.
  sandbox.setFaults([]);
  expect((await retryFailed(stack.context, batchId)).retried).toBe(1);
  await waitForBatch(stack.context, batchId, { pollMs: 50 });
  // Its three retry-later answers applied nothing and are not counted as attempts.
  expect((await report(batchId)).byId.get('s-3')).toMatchObject({ status: 'paid', attempts: '1' });

  // A person checks with VirtualRx: s-1 went through (its reference), s-2 did not.
  const reference = sandbox.transactions().find((t) => t.payee === '20230226001')!.id;
  await resolvePayment(stack.context, { batchId, paymentId: 's-1' }, { paid: reference }, personHere('alice'));
  await resolvePayment(stack.context, { batchId, paymentId: 's-2' }, { notPaid: true }, personHere('bob'));
  await expect(resolvePayment(stack.context, { batchId, paymentId: 's-1' }, { notPaid: true }, personHere('bob'))).rejects.toThrow('cannot be resolved: it is paid, not unknown');
  await expect(resolvePayment(stack.context, { batchId, paymentId: 'nope' }, { notPaid: true }, personHere('bob'))).rejects.toThrow(`batch ${batchId} has no payment nope`);
  expect((await retryFailed(stack.context, batchId)).retried).toBe(1);
  await waitForBatch(stack.context, batchId, { pollMs: 50 });

  let summary;
  ({ byId, summary } = await report(batchId));
  expect(byId.get('s-1')).toMatchObject({ status: 'paid', provider_reference: reference, provider_code: 'RESOLVED_PAID', message: 'settled by hand as paid by alice' });
  expect(byId.get('s-2')).toMatchObject({ status: 'paid', attempts: '2' });
  expect(summary).toMatchObject({ complete: true, paid: { count: 3, cents: 6000 } });
  expect(summary.statuses).toEqual({ paid: { count: 3, cents: 6000 } });
  // Every payment applied once: the ledger and the sandbox agree cent for cent.
  expect(sandbox.transactions().map((t) => [t.payee, t.amountCents]).sort()).toEqual([['20230226001', 1000], ['20230226002', 2000], ['20230226003', 3000]]);
  // Each person's decision is in the audit trail, in the order made, per payment.
  const trail = [];
  for await (const entry of auditEntries(stack.context, { batchId })) trail.push([entry.event, entry.payment_id]);
  expect(trail).toEqual([['submitted', undefined], ['retried', 's-3'], ['resolved', 's-1'], ['resolved', 's-2'], ['retried', 's-2']]);
});
