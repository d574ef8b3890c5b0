import { afterAll, expect, it } from 'vitest';
import { BatchLedger } from '../../src/ledger/batches.js';
import { type ApprovalFence, PaymentLedger, type PaymentRef } from '../../src/ledger/payments.js';
import { auditEntries } from '../../src/audit/audit-trail.js';
import { connectRedis } from '../../src/redis/connection.js';
import { testRedis } from '../helpers/redis.js';

/**
 * The approval fence: whether a batch's approval is missing is decided in the script that marks a
 * payment sending, so nothing (a worker's hold, an approval, a cancellation) can fall between the
 * check and the mark. These tests interleave two runs step by step, as two workers would.
 */

const { redis, url, keys, archive, cleanup } = testRedis();
afterAll(cleanup);
const batches = new BatchLedger(redis, keys, archive);
const ledger = new PaymentLedger(redis, keys, 'ctpayer', 'main', archive);
const trail = () => auditEntries({ redis, keys, batches, archive });
const CALL_MS = 20_000;
const strict: ApprovalFence = { reason: 'the batch totals $150.00, above ctpayer/main\'s approval threshold of $100.00', worker: { identity: 'service:worker@strict-host' } };
const ref = (batchId: string, paymentId: string): PaymentRef => ({ batchId, paymentId });

async function enqueuedBatch(batchId: string, paymentIds: string[], options: { needsApproval?: boolean; enqueued?: boolean } = {}) {
  await batches.create({
    batchId, provider: 'ctpayer', account: 'main', source: 'm.csv', sha256: batchId, rowsTotal: paymentIds.length,
    submittedBy: { identity: 'alice@maker-host' }, totalCents: 7500 * paymentIds.length, approvalRule: options.needsApproval ? 'always' : 'none', needsApproval: options.needsApproval ?? false,
  });
  await ledger.claim(batchId, paymentIds.map((paymentId, i) => ({ line: i + 2, paymentId, payee: '1000000001', amountCents: 7500, fields: { cardId: '1000000001', description: 'Visit 1' } })));
  if (options.enqueued ?? true) await batches.finishEnqueue(batchId, options.needsApproval ? 'awaiting_approval' : 'enqueued', 0);
}

it('a run that looked before another worker held the batch is still refused at its mark: the check is the mark', async () => {
  await enqueuedBatch('race', ['r1', 'r2']);
  // Run A (a worker whose own rule needs no approval) looks: the batch is enqueued, nothing holds it.
  // A check made here, before the mark, would let it send.
  expect(await batches.get('race')).toMatchObject({ state: 'enqueued' });
  expect((await batches.get('race')).needs_approval).toBeUndefined();
  // Meanwhile run B (a worker whose rule needs approval for this total) goes to send r2: held.
  expect(await ledger.beginFreshSending(ref('race', 'r2'), 'r2', strict)).toEqual({ permission: 'needs-approval', epoch: 0 });
  expect(await batches.get('race')).toMatchObject({ state: 'awaiting_approval', needs_approval: '1', held_by: 'service:worker@strict-host', held_reason: strict.reason });
  // Run A's mark, fresh or careful, is refused: nothing is marked, the payment waits queued.
  expect(await ledger.beginFreshSending(ref('race', 'r1'))).toEqual({ permission: 'needs-approval', epoch: 0 });
  expect(await ledger.beginSending(ref('race', 'r1'), true, 0)).toEqual({ permission: 'needs-approval', epoch: 0 });
  expect(await ledger.get(ref('race', 'r1'))).toMatchObject({ status: 'queued', attempts: 0, epoch: 0 });

  // Approved by a person: both runs may send now, the strict one too.
  expect(await batches.decide('race', 'enqueued', { identity: 'bob@checker-host', displayName: 'Bob' })).toBe(true);
  expect(await ledger.beginFreshSending(ref('race', 'r1'))).toEqual({ permission: 'ready', epoch: expect.any(Number) });
  expect(await ledger.beginFreshSending(ref('race', 'r2'), 'r2', strict)).toEqual({ permission: 'ready', epoch: expect.any(Number) });
  expect(await ledger.get(ref('race', 'r1'))).toMatchObject({ status: 'sending', attempts: 1 });
  // One hold, one approval, in that order, in the trail.
  const events = [];
  for await (const entry of trail()) if (entry.batch_id === 'race') events.push([entry.event, entry.identity]);
  expect(events).toEqual([['submitted', 'alice@maker-host'], ['held', 'service:worker@strict-host'], ['approved', 'bob@checker-host']]);
});

it('a batch the submitter\'s rule held is refused to every run until approved, whatever the worker\'s rule; no hold is recorded', async () => {
  await enqueuedBatch('submitter-rule', ['s1'], { needsApproval: true });
  expect(await ledger.beginFreshSending(ref('submitter-rule', 's1'))).toMatchObject({ permission: 'needs-approval' });
  expect(await ledger.beginFreshSending(ref('submitter-rule', 's1'), 's1', strict)).toMatchObject({ permission: 'needs-approval' });
  const batch = await batches.get('submitter-rule');
  expect(batch).toMatchObject({ state: 'awaiting_approval', approval_rule: 'always', total_cents: 7500 });
  expect(batch.held_by).toBeUndefined();
});

it('once canceled, no run marks a payment of the batch; a payment found sending goes back to queued, in doubt, and cancels as unknown', async () => {
  await enqueuedBatch('cancel', ['c1', 'c2']);
  // c2 was sent by a worker that needed no approval, which then stopped mid-call.
  const sent = await ledger.beginFreshSending(ref('cancel', 'c2'));
  expect(sent.permission).toBe('ready');
  expect((await ledger.beginFreshSending(ref('cancel', 'c1'), 'c1', strict)).permission).toBe('needs-approval');
  expect(await batches.decide('cancel', 'canceled', { identity: 'carol@checker-host' })).toBe(true);
  // A later run settling c2's doubt (its call can no longer be under way) may not resend it.
  const standing = await ledger.standing(ref('cancel', 'c2'), CALL_MS);
  expect(await ledger.beginSending(ref('cancel', 'c2'), true, standing!.epoch)).toEqual({ permission: 'needs-approval', epoch: 0 });
  expect(await ledger.get(ref('cancel', 'c2'))).toMatchObject({ status: 'queued', may_have_applied: '1', epoch: sent.epoch });
  expect(await ledger.beginFreshSending(ref('cancel', 'c1'))).toMatchObject({ permission: 'needs-approval' });

  await ledger.cancel(ref('cancel', 'c1'), 'carol@checker-host');
  await ledger.cancel(ref('cancel', 'c2'), 'carol@checker-host');
  expect(await ledger.get(ref('cancel', 'c1'))).toMatchObject({ status: 'failed', code: 'CANCELED' });
  expect(await ledger.get(ref('cancel', 'c2'))).toMatchObject({ status: 'unknown', code: 'CANCELED' });
  expect(await batches.get('cancel')).toMatchObject({ state: 'canceled', final: 2, n_failed: 1, n_unknown: 1 });
});

it('a hold while the batch is still being enqueued ends its enqueue awaiting approval', async () => {
  await enqueuedBatch('enqueuing', ['e1'], { enqueued: false });
  expect((await ledger.beginFreshSending(ref('enqueuing', 'e1'), 'e1', strict)).permission).toBe('needs-approval');
  expect(await batches.get('enqueuing')).toMatchObject({ state: 'enqueuing', needs_approval: '1' });
  expect(await batches.finishEnqueue('enqueuing', 'enqueued', 0)).toBe(true);
  expect(await batches.get('enqueuing')).toMatchObject({ state: 'awaiting_approval' });
});

it('of marks racing an approval on two connections, each is made only if Redis ran it after the approval', async () => {
  const ids = Array.from({ length: 60 }, (_, i) => `m${i}`);
  await enqueuedBatch('many', ids);
  expect((await ledger.beginFreshSending(ref('many', 'm0'), 'm0', strict)).permission).toBe('needs-approval');
  const other = connectRedis({ redisUrl: url });
  try {
    const otherLedger = new PaymentLedger(other, keys, 'ctpayer', 'main', archive);
    // Runs of both kinds of worker on two connections, the approval sent amid them.
    const mark = (id: string, i: number) => (i % 2 === 0 ? ledger : otherLedger).beginFreshSending(ref('many', id), id, i % 3 === 0 ? undefined : strict);
    const approver = new BatchLedger(other, keys, archive);
    // Which account holds the batch is read before the race: the approval is then one script, sent amid the marks.
    await approver.ownerOf('many');
    const before = ids.slice(0, 30).map(mark);
    const approval = approver.decide('many', 'enqueued', { identity: 'bob@checker-host' });
    const after = ids.slice(30).map((id, i) => mark(id, i + 30));
    expect(await approval).toBe(true);
    const answers = await Promise.all([...before, ...after]);
    const [approvedId] = (await redis.xrevrange(keys.audit('ctpayer', 'main'), '+', '-', 'COUNT', 1))[0]!;
    const approvedMs = Number(approvedId.split('-')[0]);
    for (const [i, id] of ids.entries()) {
      const record = (await ledger.get(ref('many', id)))!;
      if (answers[i]!.permission === 'ready') {
        // Marked once, by Redis's clock no earlier than the approval.
        expect(record).toMatchObject({ status: 'sending', epoch: answers[i]!.epoch, attempts: 1 });
        expect(record.sending_ms).toBeGreaterThanOrEqual(approvedMs);
      } else {
        expect(answers[i]!.permission).toBe('needs-approval');
        expect(record).toMatchObject({ status: 'queued', epoch: 0 });
      }
    }
    // The refused ones, run again now, are marked.
    const refused = ids.filter((_, i) => answers[i]!.permission === 'needs-approval');
    expect((await Promise.all(refused.map((id) => ledger.beginFreshSending(ref('many', id), id, strict)))).every((a) => a.permission === 'ready')).toBe(true);
    // Marks sent on the approval's connection after it ran after it (one connection keeps its order): all made.
    expect(answers.filter((_, i) => i >= 30 && i % 2 === 1).every((a) => a.permission === 'ready')).toBe(true);
  } finally {
    await other.quit();
  }
});
