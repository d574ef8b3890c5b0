import { Queue, Worker } from 'bullmq';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { waitForBatch } from '../../src/batches/wait.js';
import type { Account } from '../../src/config/load.js';
import { createLogger } from '../../src/log.js';
import { bullPrefix, paymentJob, queueName } from '../../src/queue/payment-job.js';
import { connectRedis } from '../../src/redis/connection.js';
import { sweepOpenBatches } from '../../jobs/sweeper.js';
import { startStack, type TestStack } from '../helpers/stack.js';

/** Never lose a row: payments whose job vanished or failed inside BullMQ still end with a status. */

let stack: TestStack;
beforeAll(async () => {
  stack = await startStack({ providers: ['ctpayer'], workers: { sweepIntervalMs: 300 } });
});
afterAll(() => stack?.close());

const fields = (card: string) => ({ cardId: card, description: 'Visit stipend' });

/** A batch recorded as enqueue would leave it, without its jobs. */
async function recordedBatch(batchId: string, payments: { id: string; card: string }[], account: Account = stack.account('ctpayer')) {
  await stack.context.batches.create({ batchId, provider: 'ctpayer', account: account.name, source: 'm.csv', sha256: batchId, rowsTotal: payments.length });
  await stack.context.payments(account).claim(batchId, payments.map((p, i) => ({ line: i + 2, paymentId: p.id, payee: p.card, amountCents: 500, fields: fields(p.card) })));
  await stack.context.batches.recordChunk(batchId, payments.map((p, i) => ({ kind: 'payment', line: i + 2, paymentId: p.id })), { accepted: payments.length, acceptedCents: 500 * payments.length, rejected: 0, duplicates: 0 }, payments.length + 1);
  await stack.context.batches.markEnqueued(batchId);
  return account;
}

it('adds back the job of a payment that has none, and settles one whose job failed inside BullMQ', async () => {
  // b-lost: its jobs never made it into Redis. b-failed: its job failed without our processor.
  await recordedBatch('b-lost', [{ id: 'lost-1', card: '1000000001' }, { id: 'lost-2', card: '1000000002' }]);
  const account = await recordedBatch('b-failed', [{ id: 'failed-1', card: '1000000003' }]);
  const queue = new Queue(queueName(account), { connection: stack.context.redis, prefix: bullPrefix(stack.prefix, account) });
  const job = paymentJob({ ...account, retry: { attempts: 1, backoffMs: 0 } }, { batchId: 'b-failed', paymentId: 'failed-1', amountCents: 500, fields: fields('1000000003') });
  await queue.add(job.name, job.data, job.opts);
  const connection = connectRedis(stack.context.config);
  const breaker = new Worker(queueName(account), async () => { throw new Error('job stalled more than allowable limit'); }, { connection, prefix: bullPrefix(stack.prefix, account) });
  while (((await queue.getJobCounts()).failed ?? 0) < 1) await new Promise((resolve) => setTimeout(resolve, 20));
  await breaker.close();
  await connection.quit();
  await queue.close();

  await stack.startWorkers();
  const lost = await waitForBatch(stack.context, 'b-lost', { pollMs: 50 });
  const failed = await waitForBatch(stack.context, 'b-failed', { pollMs: 50 });
  expect(lost).toMatchObject({ final: 2, n_paid: 2 });
  expect(failed).toMatchObject({ final: 1, n_failed: 1 });
  const ledger = stack.context.payments(account);
  expect(await ledger.get({ batchId: 'b-failed', paymentId: 'failed-1' })).toMatchObject({ status: 'failed', code: 'JOB_FAILED', message: expect.stringContaining('job stalled more than allowable limit') });
  expect(stack.sandboxes.ctpayer!.transactions().map((t) => t.key).sort()).toEqual(['lost-1', 'lost-2']);
  // Settled batches leave the sweeper's list.
  await new Promise((resolve) => setTimeout(resolve, 700));
  expect(await stack.context.batches.openBatchIds()).toEqual([]);
});

it('leaves a payment whose job waits alone, runs again a job that completed without a final status, and adds a retried round\'s job', async () => {
  // An account no running worker serves, so that the jobs stay where the test puts them.
  const account = { ...stack.account('ctpayer'), name: 'idle' };
  await recordedBatch('b-idle', [{ id: 'waits', card: '1000000004' }, { id: 'done', card: '1000000005' }, { id: 'again', card: '1000000006' }], account);
  const ledger = stack.context.payments(account);
  await ledger.finalize({ batchId: 'b-idle', paymentId: 'again' }, { status: 'failed', code: 'RETRY_LATER', message: 'busy' });
  expect(await ledger.retry({ batchId: 'b-idle', paymentId: 'again' })).toEqual({ round: 1 });
  const queue = new Queue(queueName(account), { connection: stack.context.redis, prefix: bullPrefix(stack.prefix, account) });
  const add = async (paymentId: string) => {
    const job = paymentJob(account, { batchId: 'b-idle', paymentId, amountCents: 500, fields: fields('1000000005') });
    await queue.add(job.name, job.data, job.opts);
  };
  // 'done' completes without our processor settling it; then 'waits' is queued behind nobody.
  await add('done');
  const connection = connectRedis(stack.context.config);
  const finisher = new Worker(queueName(account), async () => {}, { connection, prefix: bullPrefix(stack.prefix, account) });
  // A payment job is removed as it completes (the ledger, not the job, remembers it).
  while ((await queue.getJob('b-idle.done')) !== undefined) await new Promise((resolve) => setTimeout(resolve, 20));
  await finisher.close();
  await connection.quit();
  await add('waits');

  await sweepOpenBatches(stack.context, new Map([[account, queue]]), createLogger({ level: 'silent' }));
  const waiting = await queue.getJobs(['waiting']);
  expect(waiting.map((job) => job.id).sort()).toEqual(['b-idle.again.round1', 'b-idle.done', 'b-idle.waits']);
  expect(await queue.getJobCounts('completed', 'failed')).toEqual({ completed: 0, failed: 0 });
  await queue.close();
});
