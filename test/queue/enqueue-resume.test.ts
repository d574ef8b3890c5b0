import { Queue } from 'bullmq';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { submitManifest } from '../../src/batches/submit.js';
import { manifestRows, scanManifest } from '../../src/manifest/index.js';
import { enqueueRows } from '../../src/queue/enqueue.js';
import { bullPrefix, queueName } from '../../src/queue/payment-job.js';
import { startStack, type TestStack } from '../helpers/stack.js';

/** A batch is recorded before its jobs; an enqueue cut short by a crash is finished, not repeated. */

let stack: TestStack;
beforeAll(async () => {
  stack = await startStack({ providers: ['ctpayer'] });
});
afterAll(() => stack?.close());

it('resubmitting the file finishes the interrupted batch: every row once, every payment queued once', async () => {
  const ROWS = 1200;
  const lines = Array.from({ length: ROWS }, (_, i) => `r-${i},10000000${String((i % 20) + 1).padStart(2, '0')},${1 + (i % 7)}.25,Visit stipend`);
  const file = await stack.manifest('big.csv', ['payment_id,cardId,amount,description', ...lines].join('\n'));
  const account = stack.account('ctpayer');

  // What submitManifest does, with the process dying while it reads line 800 (mid-chunk).
  const scan = await scanManifest(file, account.adapter);
  await stack.context.batches.create({ batchId: 'interrupted', provider: 'ctpayer', account: 'main', source: 'big.csv', sha256: scan.sha256, rowsTotal: ROWS });
  async function* dyingAt(line: number) {
    for await (const row of manifestRows(file, account.adapter)) {
      if (row.line === line) throw new Error('process killed');
      yield row;
    }
  }
  await expect(enqueueRows(stack.context, account, 'interrupted', dyingAt(800), { addJobs: true })).rejects.toThrow('process killed');
  expect(await stack.context.batches.get('interrupted')).toMatchObject({ state: 'enqueuing', accepted: 500, enqueued_line: 501 });

  const again = await submitManifest(stack.context, { file, account });
  expect(again).toMatchObject({ accepted: true, batchId: 'interrupted' });
  const expectedCents = Array.from({ length: ROWS }, (_, i) => 100 * (1 + (i % 7)) + 25).reduce((a, b) => a + b, 0);
  expect(await stack.context.batches.get('interrupted')).toMatchObject({ state: 'enqueued', accepted: ROWS, accepted_cents: expectedCents, duplicates: 0, enqueued_line: ROWS + 1 });
  const recorded: number[] = [];
  for await (const page of stack.context.rows.pages('interrupted')) recorded.push(...page.map((r) => r.line));
  expect(recorded).toEqual(Array.from({ length: ROWS }, (_, i) => i + 2));
  const queue = new Queue(queueName(account), { connection: stack.context.redis, prefix: bullPrefix(stack.prefix, account) });
  expect((await queue.getJobCounts()).waiting).toBe(ROWS);
  await queue.close();

  // Once the batch is complete, the same file is a new batch whose rows are duplicates.
  const third = await submitManifest(stack.context, { file, account });
  if (!third.accepted) throw new Error('refused');
  expect(third.batchId).not.toBe('interrupted');
  expect(await stack.context.batches.get(third.batchId)).toMatchObject({ accepted: 0, duplicates: ROWS });
});
