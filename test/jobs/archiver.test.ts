import { afterAll, beforeAll, expect, it } from 'vitest';
import { submitManifest } from '../../src/batches/submit.js';
import { waitForBatch } from '../../src/batches/wait.js';
import { startStack, type TestStack } from '../helpers/stack.js';
import { stipend } from '../helpers/stipend-process.js';

/** The workers archive on their own (config archive.everyHours), once per interval across processes. */

let stack: TestStack;
beforeAll(async () => {
  stack = await startStack({
    providers: ['ctpayer'],
    account: { rateLimit: { max: 5000, perMs: 1000 }, concurrency: 20 },
    workers: { sweepIntervalMs: 200 },
    // Every 1.8 seconds, what was submitted more than 0.9 seconds ago.
    archive: { everyHours: 0.0005, olderThanDays: 0.00001 },
  });
  await stack.startWorkers();
  await stack.startWorkers();
});
afterAll(async () => {
  await stack?.close();
});

it('archives a settled batch once it is old enough, with no command run', async () => {
  const file = await stack.manifest('scheduled.csv', 'payment_id,cardId,amount,description\nsched-1,1000000001,4.00,Visit stipend\nsched-2,1000000002,5.00,Visit stipend\n');
  const submitted = await submitManifest(stack.context, { file, account: stack.account('ctpayer') });
  if (!submitted.accepted) throw new Error('refused');
  await waitForBatch(stack.context, submitted.batchId, { pollMs: 50 });
  await expect.poll(async () => (await stack.context.batches.get(submitted.batchId)).archived_at, { timeout: 20_000, interval: 200 }).toEqual(expect.any(String));
  expect(await stack.context.batches.get(submitted.batchId)).toMatchObject({ n_paid: 2, c_paid: 900 });
});

it('refuses a number of days that is not one, without a stack trace', async () => {
  const { code, stderr } = await stipend(['archive', '--older-than', 'soon', '--config', stack.configFile]);
  expect(code).toBe(2);
  expect(stderr).toBe('stipend: --older-than: a number of days, e.g. 90 (0 archives every settled batch)\n');
});
