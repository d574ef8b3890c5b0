import { afterAll, beforeAll, expect, it } from 'vitest';
import { openAccountQueue } from '../../src/queue/account-queue.js';
import { paymentJobId } from '../../src/queue/payment-job.js';
import { requeuePayments } from '../../src/queue/requeue-payments.js';
import { startStack, type TestStack } from '../helpers/stack.js';

/** "Requeue these payments": each payment with a record is decided on in file order, and its job added once. */

let stack: TestStack;
beforeAll(async () => {
  stack = await startStack({ providers: ['ctpayer'] });
});
afterAll(() => stack?.close());

it('adds the jobs the decision asks for, under their round, once however often it runs; rows without a record are not asked about', async () => {
  // An account no worker serves: the jobs stay where requeuePayments puts them.
  const account = { ...stack.account('ctpayer'), name: 'idle' };
  const batchId = 'b-requeue';
  const ids = ['keep', 'skip', 'round2'];
  await stack.context.batches.create({ batchId, provider: 'ctpayer', account: account.name, source: 'm.csv', sha256: batchId, rowsTotal: 4 });
  await stack.context.payments(account).claim(batchId, ids.map((id, i) => ({ line: i + 2, paymentId: id, payee: id, amountCents: 500, fields: { cardId: `100000000${i}` } })));
  const rows = [...ids, 'unrecorded'].map((id, i) => ({ kind: 'payment' as const, line: i + 2, paymentId: id }));
  await stack.context.batches.recordChunk(batchId, [...rows, { kind: 'rejected', line: 6, message: 'bad amount', problems: [{ message: 'bad amount' }] }], { accepted: 4, acceptedCents: 2000, rejected: 1, duplicates: 0 }, 6);

  const queue = openAccountQueue(stack.context.redis, stack.prefix, account);
  try {
    const asked: string[] = [];
    const decide = async ({ ref, record }: { ref: { paymentId: string }; record: { status: string } }) => {
      asked.push(`${ref.paymentId}:${record.status}`);
      return ref.paymentId === 'skip' ? undefined : ref.paymentId === 'round2' ? 2 : 0;
    };
    await requeuePayments(stack.context, queue, account, batchId, decide);
    await requeuePayments(stack.context, queue, account, batchId, decide);
    expect(asked).toEqual(['keep:queued', 'skip:queued', 'round2:queued', 'keep:queued', 'skip:queued', 'round2:queued']);
    const jobs = await queue.getJobs(['waiting', 'prioritized', 'delayed']);
    expect(jobs.map((job) => job.id).sort()).toEqual([paymentJobId(batchId, 'keep'), paymentJobId(batchId, 'round2', 2)].sort());
    expect(jobs.find((job) => job.id === paymentJobId(batchId, 'keep'))?.data).toEqual({ batchId, paymentId: 'keep', amountCents: 500, fields: { cardId: '1000000000' } });
  } finally {
    await queue.close();
  }
});
