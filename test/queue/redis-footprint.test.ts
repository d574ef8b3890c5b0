import type { Queue } from 'bullmq';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { submitManifest } from '../../src/batches/submit.js';
import { waitForBatch } from '../../src/batches/wait.js';
import { manifestRows } from '../../src/manifest/index.js';
import { openAccountQueue } from '../../src/queue/account-queue.js';
import { enqueueRows } from '../../src/queue/enqueue.js';
import { EnqueueOvertakenError } from '../../src/queue/enqueue-errors.js';
import { bullPrefix, paymentJob, queueName } from '../../src/queue/payment-job.js';
import { startStack, type TestStack } from '../helpers/stack.js';

/**
 * Issue 12, item 20: Redis stays small. The ledger is the record of every payment, so BullMQ keeps
 * no completed job; and since a payment's job no longer outlives it, adding that job again must pay
 * nothing: the ledger, not the job's existence, keeps a payment from being paid twice.
 */

let stack: TestStack;
let queue: Queue;
beforeAll(async () => {
  stack = await startStack({ providers: ['ctpayer'], account: { rateLimit: { max: 1000, perMs: 1000 }, concurrency: 20 } });
  queue = openAccountQueue(stack.context.redis, stack.prefix, stack.account('ctpayer'));
  await stack.startWorkers();
});
afterAll(async () => {
  await queue?.close();
  await stack?.close();
});

const ROWS = 200;

/**
 * The goal: 1 KB of Redis a settled payment. It holds while each payment record stays a listpack,
 * which Redis keeps only while every value is within hash-max-listpack-value (64 bytes by default).
 */
const BYTES_PER_PAYMENT = 1024;

/** A settled batch of ROWS payments, each with every CT Payer column and a participant, as sites send them. */
async function settledBatch(tag: string) {
  const file = await stack.manifest(`${tag}.csv`, [
    'payment_id,cardId,amount,description,groupId,participant_id',
    ...Array.from({ length: ROWS }, (_, i) => `${tag}-${i},10000000${String((i % 20) + 1).padStart(2, '0')},${1 + (i % 5)}.00,Visit ${i % 12} stipend,STUDY-${i % 4},P-${i}`),
  ].join('\n'));
  const result = await submitManifest(stack.context, { file, account: stack.account('ctpayer') });
  if (!result.accepted) throw new Error(`manifest refused: ${JSON.stringify(result)}`);
  expect(await waitForBatch(stack.context, result.batchId, { pollMs: 50 })).toMatchObject({ accepted: ROWS, n_paid: ROWS });
  // A job completes a moment after its payment settled.
  await drained();
  return { batchId: result.batchId, sha256: result.scan.sha256, file };
}

/** The BullMQ keys of the batch's jobs, whatever state they are in. */
function jobsOf(batchId: string): Promise<string[]> {
  return stack.context.redis.keys(`${bullPrefix(stack.prefix, stack.account('ctpayer'))}:${queueName(stack.account('ctpayer'))}:${batchId}.*`);
}

/** Waits until no job of the queue waits or runs any more. */
async function drained(): Promise<void> {
  const busy = async () => Object.values(await queue.getJobCounts('active', 'waiting', 'delayed', 'prioritized')).some((n) => n > 0);
  while (await busy()) await new Promise((resolve) => setTimeout(resolve, 50));
}

const sandbox = () => stack.sandboxes.ctpayer!;

/** The sandbox's loads of this tag's payments, by payment id. */
function loads(tag: string): string[] {
  return sandbox().transactions().flatMap((t) => (t.kind === 'load' && t.key?.startsWith(`${tag}-`) ? [t.key] : []));
}

it('leaves no completed job once a batch settles, and the batch\'s keys stay within their bound per payment', async () => {
  const { batchId, sha256 } = await settledBatch('small');
  expect(await queue.getJobCounts('completed', 'failed')).toEqual({ completed: 0, failed: 0 });
  expect(await jobsOf(batchId)).toEqual([]);

  // Every key that is the batch's: its record, row list and file, and each payment's record and holder.
  const keys = (await stack.context.redis.keys(`${stack.prefix}:*`)).filter((key) => key.includes(batchId) || key.includes(sha256) || key.includes(':small-'));
  const read = stack.context.redis.pipeline();
  for (const key of keys) read.call('MEMORY', 'USAGE', key, 'SAMPLES', '0');
  const bytes = ((await read.exec()) ?? []).reduce((sum, [, used]) => sum + Number(used), 0);
  const records = keys.filter((key) => key.startsWith(stack.context.keys.payment('ctpayer', 'main', batchId, '')));
  expect(records).toHaveLength(ROWS);
  const encodings = stack.context.redis.pipeline();
  for (const key of records) encodings.object('ENCODING', key);
  expect(new Set(((await encodings.exec()) ?? []).map(([, encoding]) => encoding))).toEqual(new Set(['listpack']));
  expect(bytes / ROWS).toBeLessThanOrEqual(BYTES_PER_PAYMENT);
});

it('a settled payment whose job is added again (its job is gone) pays nothing: the ledger says it is paid', async () => {
  const { batchId, file } = await settledBatch('again');
  const account = stack.account('ctpayer');
  const ledger = stack.context.payments(account);
  const records = async () => Promise.all(Array.from({ length: ROWS }, (_, i) => ledger.get({ batchId, paymentId: `again-${i}` })));
  const before = { records: await records(), batch: await stack.context.batches.get(batchId), requests: sandbox().requests().length };
  expect(loads('again')).toHaveLength(ROWS);

  // An enqueue of the batch from its first line, as one that lost its file's hold would run: it adds
  // every job again (same ids, none left to deduplicate against), then is refused recording rows.
  await queue.pause();
  await expect(enqueueRows(stack.context, account, batchId, manifestRows(file, account.adapter), { addJobs: true })).rejects.toBeInstanceOf(EnqueueOvertakenError);
  expect(await jobsOf(batchId)).toHaveLength(ROWS);
  await queue.resume();
  await drained();

  expect(await jobsOf(batchId)).toEqual([]);
  expect(await queue.getJobCounts('completed', 'failed')).toEqual({ completed: 0, failed: 0 });
  // Not a request reached the provider (CT Payer would answer a resend with the first load, so
  // counting loads alone would not tell).
  expect(sandbox().requests()).toHaveLength(before.requests);
  expect(loads('again').sort()).toEqual(Array.from({ length: ROWS }, (_, i) => `again-${i}`).sort());
  expect(await records()).toEqual(before.records);
  expect(await stack.context.batches.get(batchId)).toEqual(before.batch);
});

it('an enqueue removes the completed jobs an earlier version kept (each kept itself 24 hours, and no job removes it now)', async () => {
  const { batchId } = await settledBatch('earlier');
  const account = stack.account('ctpayer');
  const record = (await stack.context.payments(account).get({ batchId, paymentId: 'earlier-0' }))!;
  const job = paymentJob(account, { batchId, paymentId: 'earlier-0', amountCents: record.amount_cents, fields: record.fields });
  await queue.add(job.name, job.data, { ...job.opts, removeOnComplete: { age: 24 * 3600 } });
  await drained();
  expect(await queue.getJobCounts('completed')).toEqual({ completed: 1 });

  await settledBatch('later');
  expect(await queue.getJobCounts('completed', 'failed')).toEqual({ completed: 0, failed: 0 });
});
