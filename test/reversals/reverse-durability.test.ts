import { expect, it } from 'vitest';
import { personHere } from '../../src/audit/actor.js';
import { submitManifest } from '../../src/batches/submit.js';
import { waitForBatch } from '../../src/batches/wait.js';
import { reversePayments } from '../../src/reversals/reverse.js';
import { redisServerInstalled } from '../helpers/private-redis.js';
import { replicatedStackForFile } from '../helpers/replicated-stack.js';

/**
 * A reversal has no idempotency key at any provider, so its `reversing` claim must be durable before
 * its request leaves, as a keyless payment's sending mark is: with redis.waitReplicas and the
 * replica not answering, nothing is sent and the payment stays paid; once it answers, one reversal.
 */

const installed = redisServerInstalled();
const replicated = replicatedStackForFile({ providers: ['ctpayer'], redis: { waitReplicas: 1, confirmTimeoutMs: 300 } }, (stack) => stack.startWorkers());

it.skipIf(!installed)('sends no reversal whose claim the replica has not confirmed, and reverses once when it has', async () => {
  const { redis, stack } = replicated;
  const file = await stack.manifest('paid.csv', ['payment_id,cardId,amount_cents,description', 'rd-1,1000000012,900,Visit 1'].join('\n'));
  const submitted = await submitManifest(stack.context, { file, account: stack.account('ctpayer') });
  if (!submitted.accepted) throw new Error('manifest refused');
  await waitForBatch(stack.context, submitted.batchId, { pollMs: 50 });
  const charges = () => stack.sandboxes.ctpayer!.requests().filter((r) => r.path === '/chargecard.php').length;
  const reverse = () => reversePayments(stack.context, { batchId: submitted.batchId, paymentIds: ['rd-1'], reason: 'Paid to the wrong participant' }, personHere('alice'));
  const ledger = stack.context.payments(stack.account('ctpayer'));

  redis.pauseReplica();
  try {
    expect(await reverse()).toMatchObject([{ kind: 'retry_later', message: expect.stringContaining('CLAIM_NOT_DURABLE') }]);
  } finally {
    redis.resumeReplica();
  }
  expect(charges()).toBe(0);
  expect(await ledger.get({ batchId: submitted.batchId, paymentId: 'rd-1' })).toMatchObject({ status: 'paid' });

  expect(await reverse()).toMatchObject([{ kind: 'reversed' }]);
  expect(charges()).toBe(1);
  expect(stack.sandboxes.ctpayer!.transactions().filter((t) => t.kind === 'unload' && t.payee === '1000000012')).toHaveLength(1);
});
