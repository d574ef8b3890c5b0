import { afterAll, beforeAll, expect, it } from 'vitest';
import { submitManifest } from '../../src/batches/submit.js';
import { waitForBatch } from '../../src/batches/wait.js';
import { startStack, type TestStack } from '../helpers/stack.js';
import { stipend } from '../helpers/stipend-process.js';

/**
 * Path 7 of "never twice, never lost": a `stipend retry` interrupted after it had put failed payments
 * back to `queued` in the ledger but before their jobs were added. The next `retry --with-worker`
 * must pay those too (and the still-failed ones), once each, and return.
 */

let stack: TestStack;
beforeAll(async () => {
  stack = await startStack({ providers: ['virtualrx'] });
});
afterAll(() => stack?.close());

const HEADER = 'payment_id,CustId,ProgramId,ClaimReferenceNumber,ClientGroupID,amount_cents';

it('path 7: retry --with-worker after an interrupted retry pays the requeued payments and returns', async () => {
  const sandbox = stack.sandboxes.virtualrx!;
  sandbox.setFaults([{ kind: 'retryable' }]); // every call: retry later, until the payments end failed
  const file = await stack.manifest('interrupted-retry.csv', [HEADER, 'r-1,20230226001,7311,C1,G1,1100', 'r-2,20230226002,7311,C2,G1,2200', 'r-3,20230226003,7311,C3,G1,3300'].join('\n'));
  const submitted = await submitManifest(stack.context, { file, account: stack.account('virtualrx') });
  if (!submitted.accepted) throw new Error('manifest rejected');
  const { batchId } = submitted;
  const workers = await stack.startWorkers();
  expect(await waitForBatch(stack.context, batchId, { pollMs: 50 })).toMatchObject({ n_failed: 3 });
  await workers.close();

  // The interrupted retry: r-1 and r-2 are queued again in the ledger, their jobs never added.
  const ledger = stack.context.payments(stack.account('virtualrx'));
  for (const paymentId of ['r-1', 'r-2']) expect(await ledger.retry({ batchId, paymentId })).toEqual({ round: 1 });
  sandbox.setFaults([]);

  const result = await stipend(['--config', stack.configFile, 'retry', batchId, '--with-worker', '--out', stack.dir], { deadlineMs: 30_000 });
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  expect(result.stdout).toContain(`batch ${batchId}: 1 failed payment sent again; 2 already queued`);
  expect(result.stdout).toMatch(/^done: 3 paid \(\$66\.00\)$/m);

  const batch = await stack.context.batches.get(batchId);
  expect(batch).toMatchObject({ n_paid: 3, c_paid: 6600, n_failed: 0, final: 3 });
  // Each payment reached VirtualRx exactly once.
  expect(sandbox.transactions().map((t) => [t.payee, t.amountCents]).sort()).toEqual([['20230226001', 1100], ['20230226002', 2200], ['20230226003', 3300]]);
});
