import { afterAll, beforeAll, expect, it } from 'vitest';
import { submitManifest } from '../../src/batches/submit.js';
import { waitForBatch } from '../../src/batches/wait.js';
import { PaymentLedger } from '../../src/ledger/payments.js';
import { startStack, type TestStack } from '../helpers/stack.js';
import { spawnWorker } from '../helpers/worker-process.js';

let stack: TestStack;
beforeAll(async () => {
  stack = await startStack({ providers: ['ctpayer'], account: { concurrency: 4 } });
});
afterAll(() => stack?.close());

it('SIGTERM lets the payments in flight finish before the worker exits', async () => {
  stack.sandboxes.ctpayer!.setFaults([{ kind: 'latency', latencyMs: 1500 }]);
  const worker = await spawnWorker(stack.configFile);
  const file = await stack.manifest('slow.csv', 'payment_id,cardId,amount,description\nslow-1,1000000001,5.00,Slow\nslow-2,1000000002,6.00,Slow\n');
  const result = await submitManifest(stack.context, { file, account: stack.account('ctpayer') });
  if (!result.accepted) throw new Error('manifest rejected');

  const ledger = new PaymentLedger(stack.context.redis, stack.context.keys, 'ctpayer', 'main', stack.context.archive);
  const status = async (paymentId: string) => (await ledger.get({ batchId: result.batchId, paymentId }))?.status;
  while ((await status('slow-1')) !== 'sending' || (await status('slow-2')) !== 'sending') {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  expect(await worker.stop('SIGTERM')).toBe(0);

  // Both calls completed and were recorded before the process left.
  expect(await status('slow-1')).toBe('paid');
  expect(await status('slow-2')).toBe('paid');
  expect((await waitForBatch(stack.context, result.batchId)).n_paid).toBe(2);
  expect(stack.sandboxes.ctpayer!.transactions()).toHaveLength(2);
});
