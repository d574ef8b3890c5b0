import { Queue, Worker } from 'bullmq';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { waitForBatch } from '../../src/api.js';
import { bullPrefix, paymentJob, queueName } from '../../src/queue/payment-job.js';
import { startStack, type TestStack } from '../helpers/stack.js';

/** Never lose a row: payments whose job vanished or failed inside BullMQ still end with a status. */

let stack: TestStack;
beforeAll(async () => {
  stack = await startStack({ providers: ['ctpayer'], workers: { sweepIntervalMs: 300 } });
});
afterAll(() => stack?.close());

const fields = (card: string) => ({ cardId: card, description: 'Visit stipend' });

/** A batch recorded as enqueue would leave it, with jobs added only where `withJob` says. */
async function recordedBatch(batchId: string, payments: { id: string; card: string }[]) {
  const account = stack.account('ctpayer');
  await stack.context.batches.create({ batchId, provider: 'ctpayer', account: 'main', source: 'm.csv', sha256: batchId, rowsTotal: payments.length });
  await stack.context.payments(account).claim(batchId, payments.map((p, i) => ({ line: i + 2, paymentId: p.id, payee: p.card, amountCents: 500, fields: fields(p.card) })));
  await stack.context.batches.recordChunk(batchId, payments.map((p, i) => ({ s: 'payment', l: i + 2, p: p.id })), { accepted: payments.length, acceptedCents: 500 * payments.length, rejected: 0, duplicates: 0 }, payments.length + 1);
  await stack.context.batches.markEnqueued(batchId);
  return account;
}

it('adds back the job of a payment that has none, and settles one whose job failed inside BullMQ', async () => {
  // b-lost: its jobs never made it into Redis. b-failed: its job failed without our processor.
  await recordedBatch('b-lost', [{ id: 'lost-1', card: '1000000001' }, { id: 'lost-2', card: '1000000002' }]);
  const account = await recordedBatch('b-failed', [{ id: 'failed-1', card: '1000000003' }]);
  const queue = new Queue(queueName(account), { connection: stack.context.redis, prefix: bullPrefix(stack.prefix) });
  const job = paymentJob({ ...account, retry: { attempts: 1, backoffMs: 0 } }, { batchId: 'b-failed', paymentId: 'failed-1', amountCents: 500, fields: fields('1000000003') });
  await queue.add(job.name, job.data, job.opts);
  const connection = stack.context.redis.duplicate();
  const breaker = new Worker(queueName(account), async () => { throw new Error('job stalled more than allowable limit'); }, { connection, prefix: bullPrefix(stack.prefix) });
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
