import { expect, it } from 'vitest';
import { personHere } from '../../src/audit/actor.js';
import { newBatchId } from '../../src/ledger/batches.js';
import { ReversalLedger } from '../../src/ledger/reversals.js';
import { manifestRows } from '../../src/manifest/index.js';
import { virtualrx } from '../../src/providers/virtualrx.js';
import { enqueueRows } from '../../src/queue/enqueue.js';
import { redisServerInstalled } from '../helpers/private-redis.js';
import { replicatedStackForFile } from '../helpers/replicated-stack.js';

/**
 * A sending mark fences its run's send: the run sends, and records its answers, only while the mark
 * it made is the payment's. Redis failing over to an older copy loses the last marks, and the next
 * mark on that copy must not look like a lost one: the run whose mark was lost (stalled, say, while
 * Redis failed over) would find "its" mark held and send a second time, or take the other run's
 * mark back while that run's request is out.
 */

const installed = redisServerInstalled();
const replicated = replicatedStackForFile({ providers: ['virtualrx'] });

it.skipIf(!installed)('a mark lost in a failover is never mistaken for the next one: its run neither sends nor takes the other back', { timeout: 60_000 }, async () => {
  const { redis, stack } = replicated;
  const account = stack.account('virtualrx');
  const ledger = stack.context.payments(account);
  const batchId = newBatchId();
  await stack.context.batches.create({ batchId, provider: 'virtualrx', account: account.name, source: 'f.csv', sha256: batchId, rowsTotal: 1 });
  const file = await stack.manifest('f.csv', 'payment_id,CustId,ProgramId,ClaimReferenceNumber,ClientGroupID,amount_cents\nfence-1,20230226001,7311,CLM-F-1,GRP-1,700\n');
  await enqueueRows(stack.context, account, batchId, manifestRows(file, virtualrx as never), { addJobs: false });
  const ref = { batchId, paymentId: 'fence-1' };
  // The replica has the queued payment.
  await stack.context.redis.wait(1, 5000);

  // Run A marks the payment; the replica never receives it, and Redis fails over to the replica's copy.
  redis.pauseReplica();
  const a = await ledger.beginFreshSending(ref);
  expect(a.permission).toBe('ready');
  await redis.failover();
  expect(await ledger.get(ref)).toMatchObject({ status: 'queued' });

  // Run B, on the copy, marks the same payment for its own send.
  const b = await ledger.beginFreshSending(ref);
  expect(b.permission).toBe('ready');
  expect(b.epoch).not.toBe(a.epoch);

  // A, waking, checks that its mark still holds before its request leaves: it does not.
  expect(await ledger.touchSending(ref, a.epoch)).toBe(false);
  // A's mark could not be confirmed durable: taking it back must leave B's in place.
  await ledger.unmarkSending(ref, a.epoch);
  expect(await ledger.get(ref)).toMatchObject({ status: 'sending', epoch: b.epoch });
  // Nor may an answer A records touch B's call.
  expect(await ledger.requeue(ref, a.epoch, { code: 'HTTP_503', message: 'later', mayHaveApplied: false, refused: true })).toBe(false);
  expect(await ledger.touchSending(ref, b.epoch)).toBe(true);
});

it.skipIf(!installed)('a reversal claim lost in a failover is never mistaken for the next one: its run does not send', { timeout: 60_000 }, async () => {
  const { redis, stack } = replicated;
  const account = stack.account('virtualrx');
  const ledger = stack.context.payments(account);
  const reversals = new ReversalLedger(stack.context.redis, stack.context.keys, account.provider, account.name);
  const batchId = newBatchId();
  await stack.context.batches.create({ batchId, provider: 'virtualrx', account: account.name, source: 'r.csv', sha256: batchId, rowsTotal: 1 });
  const file = await stack.manifest('r.csv', 'payment_id,CustId,ProgramId,ClaimReferenceNumber,ClientGroupID,amount_cents\nfence-r,20230226001,7311,CLM-F-R,GRP-1,900\n');
  await enqueueRows(stack.context, account, batchId, manifestRows(file, virtualrx as never), { addJobs: false });
  const ref = { batchId, paymentId: 'fence-r' };
  const { epoch } = await ledger.beginFreshSending(ref);
  await ledger.finalize(ref, { status: 'paid', reference: 'SVC-1', code: '0', message: 'Success', epoch });
  await stack.context.redis.wait(1, 5000);

  // A person's reversal claims the payment; the replica never receives it, and Redis fails over.
  redis.pauseReplica();
  const a = await reversals.claim(ref, 'wrong card', personHere('alice'));
  expect(a).toEqual({ epoch: expect.any(Number) });
  await redis.failover();
  expect(await ledger.get(ref)).toMatchObject({ status: 'paid' });

  // Another person's reversal claims it on the copy; the first, waking, must find its claim gone.
  const b = await reversals.claim(ref, 'wrong card', personHere('bob'));
  expect(b).toEqual({ epoch: expect.any(Number) });
  expect(await reversals.stillClaimed(ref, (a as { epoch: number }).epoch)).toBe(false);
  // Its claim could not be confirmed durable: giving it back must leave the other claim in place.
  expect(await reversals.settle(ref, { to: 'paid', definite: false, code: 'CLAIM_NOT_DURABLE', message: 'nothing sent' }, (a as { epoch: number }).epoch)).toBe(false);
  expect(await ledger.get(ref)).toMatchObject({ status: 'reversing' });
  expect(await reversals.stillClaimed(ref, (b as { epoch: number }).epoch)).toBe(true);
});
