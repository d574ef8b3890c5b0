import { mkdir, readdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { approvalSummary, approveBatch } from '../../src/batches/approval.js';
import { cancelBatch } from '../../src/batches/cancel.js';
import { retryFailed } from '../../src/batches/settle.js';
import { submitManifest } from '../../src/batches/submit.js';
import { waitForBatch } from '../../src/batches/wait.js';
import { startWatcher } from '../../src/ingest/watcher.js';
import { createLogger } from '../../src/log.js';
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
  const result = await submitManifest(stack.context, { file, account: stack.account('ctpayer'), submittedBy: { identity: by } });
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

  await expect(approveBatch(stack.context, batchId, { identity: 'Alice' })).rejects.toThrow(`Alice submitted batch ${batchId}; someone else must approve it`);
  expect(await approveBatch(stack.context, batchId, { identity: 'bob' })).toMatchObject({ state: 'enqueued', approved_by: 'bob' });
  expect((await waitForBatch(stack.context, batchId, { pollMs: 50 })).n_paid).toBe(2);
  expect(loads('ap-b').map((t) => t.amountCents).sort()).toEqual([7000, 8000]);
  await expect(approveBatch(stack.context, batchId, { identity: 'bob' })).rejects.toThrow('is enqueued, not awaiting approval');
});

it('cancels a batch that has not started: nothing sent, and its payments may be paid by a later batch', async () => {
  const batchId = await submit('cancel.csv', [['ap-c1', '90.00'], ['ap-c2', '90.00']], 'alice');
  const canceled = await cancelBatch(stack.context, batchId, { identity: 'carol' });
  expect(canceled).toMatchObject({ state: 'canceled', canceled_by: 'carol', final: 2, n_failed: 2, c_failed: 18000 });
  expect((await waitForBatch(stack.context, batchId)).state).toBe('canceled');
  await expect(retryFailed(stack.context, batchId)).rejects.toThrow('is canceled; there is nothing to retry');
  // Canceling again only finishes what a cancellation left; approving a canceled batch is refused.
  expect(await cancelBatch(stack.context, batchId, { identity: 'carol' })).toMatchObject({ state: 'canceled', final: 2 });
  await expect(approveBatch(stack.context, batchId, { identity: 'bob' })).rejects.toThrow('is canceled, not awaiting approval');

  const again = await submit('cancel-again.csv', [['ap-c1', '90.00'], ['ap-c2', '90.00']], 'alice');
  await approveBatch(stack.context, again, { identity: 'bob' });
  expect((await waitForBatch(stack.context, again, { pollMs: 50 })).n_paid).toBe(2);
  expect(loads('ap-c')).toHaveLength(2);
});

it('lets exactly one of an approval and a cancellation made at the same moment win', async () => {
  const batchId = await submit('race.csv', [['ap-r1', '90.00'], ['ap-r2', '90.00']], 'alice');
  const [approved, canceled] = await Promise.allSettled([approveBatch(stack.context, batchId, { identity: 'bob' }), cancelBatch(stack.context, batchId, { identity: 'carol' })]);
  expect([approved.status, canceled.status].sort()).toEqual(['fulfilled', 'rejected']);
  const batch = await waitForBatch(stack.context, batchId, { pollMs: 50 });
  if (approved.status === 'fulfilled') expect(batch).toMatchObject({ state: 'enqueued', n_paid: 2, n_failed: 0 });
  else expect(batch).toMatchObject({ state: 'canceled', n_paid: 0, n_failed: 2 });
  expect(loads('ap-r')).toHaveLength(batch.n_paid);
});

it('takes a dropped file again after its batch was canceled, instead of calling it a duplicate', async () => {
  const root = join(stack.dir, 'drop-approval');
  const inbox = join(root, 'inbox', 'ctpayer', 'main');
  await mkdir(inbox, { recursive: true });
  const watcher = await startWatcher(stack.context, root, { stableMs: 100, concurrency: 2, leaseMs: 5000, log: createLogger({ level: 'silent' }) });
  const text = 'payment_id,cardId,amount,description\nap-w1,1000000010,150.00,Visit stipend\n';
  const dropAs = async (name: string) => {
    await writeFile(join(inbox, `.${name}.part`), text);
    await rename(join(inbox, `.${name}.part`), join(inbox, name));
  };
  const awaiting = async () => {
    for (;;) {
      const open = await Promise.all((await stack.context.batches.openBatchIds()).map((id) => stack.context.batches.get(id)));
      const batch = open.find((b) => b.state === 'awaiting_approval' && b.source.endsWith('.csv') && b.accepted_cents === 15000);
      if (batch) return batch.batch_id;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };
  try {
    await dropAs('big.csv');
    await cancelBatch(stack.context, await awaiting(), { identity: 'carol' });
    await dropAs('big-again.csv');
    await approveBatch(stack.context, await awaiting(), { identity: 'bob' });
    const archived = join(root, 'archive', 'ctpayer', 'main');
    while ((await readdir(archived).catch(() => [])).length < 2) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await readdir(join(root, 'duplicates', 'ctpayer', 'main')).catch(() => [])).toEqual([]);
    expect(loads('ap-w1')).toHaveLength(1);
  } finally {
    await watcher.close();
  }
});
