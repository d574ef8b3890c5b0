import { afterAll, beforeAll, expect, it } from 'vitest';
import { approvalSummary, approveBatch, cancelBatch, retryFailed, submitManifest, waitForBatch } from '../../src/api.js';
import { startStack, type TestStack } from '../helpers/stack.js';

/** Maker-checker: batches above the account's threshold wait for someone other than their submitter. */

let stack: TestStack;
beforeAll(async () => {
  stack = await startStack({ providers: ['ctpayer'], account: { approval: { above: '100.00' } }, workers: { sweepIntervalMs: 200 } });
  await stack.startWorkers();
});
afterAll(() => stack?.close());

async function submit(name: string, rows: [string, string][], by: string) {
  const file = await stack.manifest(name, ['payment_id,cardId,amount,description', ...rows.map(([id, amount], i) => `${id},${1000000001 + i},${amount},Visit stipend`)].join('\n'));
  const result = await submitManifest(stack.context, { file, account: stack.account('ctpayer'), submittedBy: by });
  if (!result.accepted) throw new Error('refused');
  return result.batchId;
}
const loads = (prefix: string) => stack.sandboxes.ctpayer!.transactions().filter((t) => t.key?.startsWith(prefix));

it('pays a batch within the threshold at once', async () => {
  const batchId = await submit('small.csv', [['ap-s1', '60.00'], ['ap-s2', '40.00']], 'alice');
  expect((await waitForBatch(stack.context, batchId, { pollMs: 50 })).n_paid).toBe(2);
});

it('holds a batch above the threshold until someone other than its submitter approves it', async () => {
  const batchId = await submit('big.csv', [['ap-b1', '80.00'], ['ap-b2', '70.00']], 'alice');
  const waiting = await stack.context.batches.get(batchId);
  expect(waiting).toMatchObject({ state: 'awaiting_approval', submitted_by: 'alice', accepted: 2, accepted_cents: 15000 });
  expect(await approvalSummary(stack.context, waiting)).toMatch(/2 payments, \$150\.00 in all[\s\S]*funding balance: \$\d+\.\d\d\n[\s\S]*estimated time to pay at the account's rate limit: \d+ s/);
  // Nothing is sent while it waits, not even by the sweeper looking for lost jobs.
  await new Promise((resolve) => setTimeout(resolve, 800));
  expect(loads('ap-b')).toEqual([]);

  await expect(approveBatch(stack.context, batchId, 'Alice')).rejects.toThrow(`Alice submitted batch ${batchId}; someone else must approve it`);
  expect(await approveBatch(stack.context, batchId, 'bob')).toMatchObject({ state: 'enqueued', approved_by: 'bob' });
  expect((await waitForBatch(stack.context, batchId, { pollMs: 50 })).n_paid).toBe(2);
  expect(loads('ap-b').map((t) => t.amountCents).sort()).toEqual([7000, 8000]);
  await expect(approveBatch(stack.context, batchId, 'bob')).rejects.toThrow('is enqueued, not awaiting approval');
});

it('cancels a batch that has not started: nothing sent, and its payments may be paid by a later batch', async () => {
  const batchId = await submit('cancel.csv', [['ap-c1', '90.00'], ['ap-c2', '90.00']], 'alice');
  const canceled = await cancelBatch(stack.context, batchId, 'carol');
  expect(canceled).toMatchObject({ state: 'canceled', canceled_by: 'carol', final: 2, n_failed: 2, c_failed: 18000 });
  expect((await waitForBatch(stack.context, batchId)).state).toBe('canceled');
  await expect(retryFailed(stack.context, batchId)).rejects.toThrow('is canceled; there is nothing to retry');
  await expect(cancelBatch(stack.context, batchId, 'carol')).rejects.toThrow('only a batch awaiting approval can be canceled');

  const again = await submit('cancel-again.csv', [['ap-c1', '90.00'], ['ap-c2', '90.00']], 'alice');
  await approveBatch(stack.context, again, 'bob');
  expect((await waitForBatch(stack.context, again, { pollMs: 50 })).n_paid).toBe(2);
  expect(loads('ap-c')).toHaveLength(2);
});
