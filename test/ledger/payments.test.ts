import { afterAll, expect, it, vi } from 'vitest';
import { personHere } from '../../src/audit/actor.js';
import { BatchLedger } from '../../src/ledger/batches.js';
import { claimPayments, settleUnrecordedClaim } from '../../src/ledger/claims.js';
import { PaymentLedger, type PaymentRef } from '../../src/ledger/payments.js';
import { testRedis } from '../helpers/redis.js';

const { redis, keys, archive, cleanup } = testRedis();
afterAll(cleanup);
const batches = new BatchLedger(redis, keys, archive);
const ledger = new PaymentLedger(redis, keys, 'ctpayer', 'main', archive);
const payment = (paymentId: string, amountCents = 1250) => ({ line: 2, paymentId, payee: '1000000001', amountCents, fields: { cardId: '1000000001', description: 'Visit 1' } });
const ref = (batchId: string, paymentId: string): PaymentRef => ({ batchId, paymentId });
const CALL_MS = 20_000;
/** A careful sending mark, as a run makes it after reading the payment's standing: its permission. */
async function mark(r: PaymentRef, doubtResolvable = false, key?: string, on: PaymentLedger = ledger): Promise<string> {
  const standing = await on.standing(r, CALL_MS);
  return (await on.beginSending(r, doubtResolvable, standing?.epoch ?? 0, key)).permission;
}
const fresh = async (r: PaymentRef) => (await ledger.beginFreshSending(r)).permission;
/** The epoch of the payment's latest mark: the run that made it answers with it. */
const epochOf = async (r: PaymentRef) => (await ledger.standing(r, CALL_MS))!.epoch;

async function newBatch(batchId: string, ...paymentIds: [string, number][]) {
  await batches.create({ batchId, provider: 'ctpayer', account: 'main', source: 'm.csv', sha256: 'x', rowsTotal: paymentIds.length });
  const holders = await ledger.claim(batchId, paymentIds.map(([id, cents]) => payment(id, cents)));
  await batches.markEnqueued(batchId);
  return holders;
}

it('lets one batch hold a payment: another batch finds it held, the same batch may claim it again', async () => {
  expect(await ledger.claim('b1', [payment('p1'), payment('p2')])).toEqual([undefined, undefined]);
  expect(await ledger.claim('b2', [payment('p1'), payment('p3')])).toEqual(['b1', undefined]);
  expect(await ledger.claim('b1', [payment('p1')])).toEqual([undefined]);
  expect(await ledger.get(ref('b1', 'p1'))).toMatchObject({ batch_id: 'b1', status: 'queued', amount_cents: 1250, attempts: 0, round: 0, fields: { cardId: '1000000001', description: 'Visit 1' } });
  expect(await ledger.get(ref('b2', 'p1'))).toBeUndefined();
});

it('allows a call only from queued; a second run finds the first one in doubt', async () => {
  await ledger.claim('b1', [payment('s1'), payment('s2')]);
  expect(await mark(ref('b1', 's1'), false)).toBe('ready');
  expect(await mark(ref('b1', 's1'), false)).toBe('in-doubt');
  expect(await ledger.get(ref('b1', 's1'))).toMatchObject({ status: 'sending', attempts: 1, may_have_applied: '1' });

  expect(await mark(ref('b1', 's2'), true)).toBe('ready');
  expect(await mark(ref('b1', 's2'), true)).toBe('ready-in-doubt');
  expect(await ledger.get(ref('b1', 's2'))).toMatchObject({ status: 'sending', attempts: 2 });
  // The doubt stays with the payment: a later, orderly attempt still has to settle it first.
  await ledger.requeue(ref('b1', 's2'), await epochOf(ref('b1', 's2')), { code: 'X', message: 'retry', mayHaveApplied: false, refused: true });
  expect(await mark(ref('b1', 's2'), true)).toBe('ready-in-doubt');
  expect(await mark(ref('b1', 'nobody'), true)).toBe('missing');
});

it('marks a simply queued payment sending in one step, and changes nothing for any other standing', async () => {
  await ledger.claim('b1', [payment('q1'), payment('q2'), payment('q3')]);
  expect(await fresh(ref('b1', 'q1'))).toBe('ready');
  expect(await ledger.get(ref('b1', 'q1'))).toMatchObject({ status: 'sending', attempts: 1, idem_key: 'q1' });
  // Another run on it: in doubt, for the careful way (beginSending) to decide.
  expect(await fresh(ref('b1', 'q1'))).toBe('not-fresh');
  expect(await ledger.get(ref('b1', 'q1'))).toMatchObject({ status: 'sending', attempts: 1 });
  expect((await ledger.get(ref('b1', 'q1')))?.may_have_applied).toBeUndefined();
  // A retry after an answer that applied nothing is fresh again; after one that may have, it is not.
  await mark(ref('b1', 'q2'), true);
  await ledger.requeue(ref('b1', 'q2'), await epochOf(ref('b1', 'q2')), { code: 'HTTP_500', message: 'retry', mayHaveApplied: false, refused: true });
  expect(await fresh(ref('b1', 'q2'))).toBe('ready');
  await mark(ref('b1', 'q3'), true);
  await ledger.requeue(ref('b1', 'q3'), await epochOf(ref('b1', 'q3')), { code: 'NO_RESPONSE', message: 'retry', mayHaveApplied: true, refused: false });
  expect(await fresh(ref('b1', 'q3'))).toBe('not-fresh');
  expect(await ledger.get(ref('b1', 'q3'))).toMatchObject({ status: 'queued', attempts: 1 });
  await ledger.finalize(ref('b1', 'q2'), { status: 'paid', code: 'success', message: '', reference: 'T1' });
  expect(await fresh(ref('b1', 'q2'))).toBe('not-fresh');
  expect(await fresh(ref('b1', 'nobody'))).toBe('not-fresh');
});

it('records a final status once and counts it on the batch once', async () => {
  await newBatch('b-final', ['f1', 500], ['f2', 700]);
  for (const id of ['f1', 'f2']) await mark(ref('b-final', id), false);
  expect(await ledger.finalize(ref('b-final', 'f1'), { status: 'paid', reference: 'T1', code: 'success', message: '' })).toBe('recorded');
  expect(await ledger.finalize(ref('b-final', 'f1'), { status: 'failed', code: 'X', message: 'late' })).toBe('ignored');
  expect(await ledger.finalize(ref('b-final', 'f2'), { status: 'declined', code: 'CARD_NOT_ACTIVE', message: '' })).toBe('recorded');
  expect(await mark(ref('b-final', 'f1'), true)).toBe('final');
  expect(await batches.get('b-final')).toMatchObject({ final: 2, n_paid: 1, c_paid: 500, n_declined: 1, c_declined: 700, n_failed: 0 });
  expect(await ledger.get(ref('b-final', 'f1'))).toMatchObject({ status: 'paid', reference: 'T1' });
});

it('lets a definite answer replace an unknown, moving the batch counts with it', async () => {
  await newBatch('b-upgrade', ['u1', 900]);
  await mark(ref('b-upgrade', 'u1'), false);
  await ledger.finalize(ref('b-upgrade', 'u1'), { status: 'unknown', code: 'NO_RESPONSE', message: '' });
  expect(await ledger.finalize(ref('b-upgrade', 'u1'), { status: 'paid', reference: 'T9', code: 'success', message: '' })).toBe('recorded');
  expect(await ledger.finalize(ref('b-upgrade', 'u1'), { status: 'unknown', code: 'X', message: '' })).toBe('ignored');
  expect(await batches.get('b-upgrade')).toMatchObject({ final: 1, n_paid: 1, c_paid: 900, n_unknown: 0, c_unknown: 0 });
});

it('requeues only a payment that is being sent, remembering an unknown outcome', async () => {
  await ledger.claim('b1', [payment('r1')]);
  await ledger.requeue(ref('b1', 'r1'), await epochOf(ref('b1', 'r1')), { code: 'X', message: 'not sending', mayHaveApplied: false, refused: true });
  expect((await ledger.get(ref('b1', 'r1')))?.status).toBe('queued');
  await mark(ref('b1', 'r1'), true);
  await ledger.requeue(ref('b1', 'r1'), await epochOf(ref('b1', 'r1')), { code: 'NO_RESPONSE', message: 'lost', mayHaveApplied: true, refused: false });
  expect(await ledger.get(ref('b1', 'r1'))).toMatchObject({ status: 'queued', code: 'NO_RESPONSE', may_have_applied: '1' });
});

it('settles a payment whose job ended without an outcome: unknown if a call may have applied, else failed', async () => {
  await newBatch('b-abandon', ['a1', 100], ['a2', 200], ['a3', 300]);
  await mark(ref('b-abandon', 'a1'), false); // cut off during the call
  await mark(ref('b-abandon', 'a3'), true);
  await ledger.requeue(ref('b-abandon', 'a3'), await epochOf(ref('b-abandon', 'a3')), { code: 'NO_RESPONSE', message: 'lost', mayHaveApplied: true, refused: false }); // an earlier call's outcome was unknown
  const abandon = (id: string) => ledger.finalize(ref('b-abandon', id), { status: 'abandoned', code: 'INTERNAL_ERROR', message: 'x' });
  expect(await Promise.all(['a1', 'a2', 'a3'].map(abandon))).toEqual(['recorded', 'recorded', 'recorded']);
  expect((await ledger.get(ref('b-abandon', 'a1')))?.status).toBe('unknown');
  expect((await ledger.get(ref('b-abandon', 'a2')))?.status).toBe('failed');
  expect((await ledger.get(ref('b-abandon', 'a3')))?.status).toBe('unknown');
  expect(await batches.get('b-abandon')).toMatchObject({ final: 3, n_unknown: 2, c_unknown: 400, n_failed: 1, c_failed: 200 });
});

it('keeps the first idempotency key a payment gets and hands it out on every later attempt', async () => {
  await ledger.claim('b1', [payment('k1')]);
  expect((await ledger.standing(ref('b1', 'k1'), CALL_MS))?.idempotencyKey).toBeUndefined();
  expect(await ledger.keepKey(ref('b1', 'k1'), 'req-1')).toBe('req-1');
  expect(await ledger.keepKey(ref('b1', 'k1'), 'req-2')).toBe('req-1');
  expect((await ledger.standing(ref('b1', 'k1'), CALL_MS))?.idempotencyKey).toBe('req-1');
});

it('lets a later batch pay a payment only if nothing moved the first time (failed or declined)', async () => {
  await newBatch('b-first', ['h-paid', 100], ['h-failed', 100], ['h-declined', 100], ['h-unknown', 100], ['h-flight', 100]);
  const settle = async (id: string, status: 'paid' | 'failed' | 'declined' | 'unknown') => {
    await mark(ref('b-first', id), false);
    await ledger.finalize(ref('b-first', id), { status, code: 'X', message: '', epoch: await epochOf(ref('b-first', id)) });
  };
  await settle('h-paid', 'paid');
  await settle('h-failed', 'failed');
  await settle('h-declined', 'declined');
  await settle('h-unknown', 'unknown');
  await mark(ref('b-first', 'h-flight'), false);
  const ids = ['h-paid', 'h-failed', 'h-declined', 'h-unknown', 'h-flight'];
  expect(await ledger.claim('b-second', ids.map((id) => payment(id)))).toEqual(['b-first', undefined, undefined, 'b-first', 'b-first']);
  // The first batch's records are untouched: its report still says what happened then.
  expect((await ledger.get(ref('b-first', 'h-failed')))?.status).toBe('failed');
  expect((await ledger.get(ref('b-second', 'h-failed')))?.status).toBe('queued');
});

it('forgets a settled payment after the configured memory, and never one still in flight', async () => {
  const shortMemory = new PaymentLedger(redis, keys, 'ctpayer', 'short', archive, 150);
  await batches.create({ batchId: 'b-mem', provider: 'ctpayer', account: 'short', source: 'm.csv', sha256: 'x', rowsTotal: 2 });
  await shortMemory.claim('b-mem', [payment('m-paid'), payment('m-flight')]);
  await mark(ref('b-mem', 'm-paid'), false, undefined, shortMemory);
  await shortMemory.finalize(ref('b-mem', 'm-paid'), { status: 'paid', reference: 'T', code: 'success', message: '' });
  await mark(ref('b-mem', 'm-flight'), false, undefined, shortMemory);
  expect(await shortMemory.claim('b-later', [payment('m-paid'), payment('m-flight')])).toEqual(['b-mem', 'b-mem']);
  await new Promise((resolve) => setTimeout(resolve, 300));
  expect(await shortMemory.claim('b-later', [payment('m-paid'), payment('m-flight')])).toEqual([undefined, 'b-mem']);
});

it('lets a person settle an unknown payment, once, and moves the batch counts', async () => {
  await newBatch('b-resolve', ['x-paid', 400], ['x-not', 600], ['x-done', 100]);
  for (const id of ['x-paid', 'x-not']) {
    await mark(ref('b-resolve', id), false);
    await ledger.finalize(ref('b-resolve', id), { status: 'unknown', code: 'NO_RESPONSE', message: '' });
  }
  expect(await ledger.resolve(ref('b-resolve', 'x-paid'), { paid: 'TX-77' }, personHere('alice'), 'confirmed on the phone')).toBeUndefined();
  expect(await ledger.resolve(ref('b-resolve', 'x-not'), { notPaid: true }, personHere('bob'))).toBeUndefined();
  expect(await ledger.resolve(ref('b-resolve', 'x-paid'), { notPaid: true }, personHere('bob'))).toBe('it is paid, not unknown');
  expect(await ledger.resolve(ref('b-resolve', 'x-done'), { paid: 'T' }, personHere('bob'))).toBe('it is queued, not unknown');
  expect(await ledger.get(ref('b-resolve', 'x-paid'))).toMatchObject({ status: 'paid', reference: 'TX-77', code: 'RESOLVED_PAID', resolved_by: 'alice', message: 'settled by hand as paid by alice: confirmed on the phone' });
  expect(await ledger.get(ref('b-resolve', 'x-not'))).toMatchObject({ status: 'failed', code: 'RESOLVED_NOT_PAID', resolved_by: 'bob' });
  expect((await ledger.get(ref('b-resolve', 'x-not')))?.may_have_applied).toBeUndefined();
  expect(await batches.get('b-resolve')).toMatchObject({ final: 2, n_unknown: 0, n_paid: 1, c_paid: 400, n_failed: 1, c_failed: 600 });
});

it('sends a failed payment round again, never an unknown one, and not if another batch took it over', async () => {
  await newBatch('b-retry', ['y-failed', 300], ['y-unknown', 500], ['y-taken', 700]);
  for (const [id, status] of [['y-failed', 'failed'], ['y-unknown', 'unknown'], ['y-taken', 'failed']] as const) {
    await mark(ref('b-retry', id), false);
    await ledger.finalize(ref('b-retry', id), { status, code: 'X', message: '', epoch: await epochOf(ref('b-retry', id)) });
  }
  expect(await ledger.claim('b-other', [payment('y-taken')])).toEqual([undefined]);
  expect(await ledger.retry(ref('b-retry', 'y-failed'))).toEqual({ round: 1 });
  expect(await ledger.retry(ref('b-retry', 'y-failed'))).toEqual({ refused: 'it is queued, not failed' });
  expect(await ledger.retry(ref('b-retry', 'y-unknown'))).toEqual({ refused: 'it is unknown, not failed' });
  expect(await ledger.retry(ref('b-retry', 'y-taken'))).toEqual({ refused: 'batch b-other now holds this payment' });
  expect(await ledger.get(ref('b-retry', 'y-failed'))).toMatchObject({ status: 'queued', round: 1 });
  expect(await batches.get('b-retry')).toMatchObject({ final: 2, n_failed: 1, c_failed: 700, n_unknown: 1 });
});

it('records the idempotency key a payment is sent with', async () => {
  await ledger.claim('b1', [payment('key-1')]);
  await mark(ref('b1', 'key-1'), true, 'key-1');
  expect((await ledger.get(ref('b1', 'key-1')))?.idem_key).toBe('key-1');
});

it('moves sending_at on when a request is repeated within its attempt, and only while the mark is the run\'s own', async () => {
  const r = ref('b1', 'touch-1');
  await ledger.claim('b1', [payment('touch-1')]);
  await mark(r, true);
  const mine = await epochOf(r);
  await redis.hset(ledger.key(r), 'sending_at', '2000-01-01T00:00:00.000Z');
  expect(await ledger.touchSending(r, mine)).toBe(true);
  const touched = (await ledger.get(r))!.sending_at!;
  expect(Date.now() - Date.parse(touched)).toBeLessThan(5000);
  // Path 2 again: the run stalled before its repeat (a new login) and another run marked the payment.
  await ledger.beginSending(r, true, mine);
  expect(await ledger.touchSending(r, mine)).toBe(false);
  await ledger.finalize(r, { status: 'paid', reference: 'T', code: 'x', message: '' });
  await redis.hset(ledger.key(r), 'sending_at', '2000-01-01T00:00:00.000Z');
  expect(await ledger.touchSending(r, await epochOf(r))).toBe(false);
  expect((await ledger.get(r))!.sending_at).toBe('2000-01-01T00:00:00.000Z');
});

// ---- Issue 11's paths, at the ledger ------------------------------------------------------------

it('path 1, doubt forgotten on requeue: a run that made no call of its own leaves an earlier call in doubt', async () => {
  await newBatch('b-doubt', ['d1', 100], ['d2', 200]);
  // A run marked d1 and d2 sending, then its process died mid-call.
  await fresh(ref('b-doubt', 'd1'));
  await fresh(ref('b-doubt', 'd2'));
  // The next run's login or lookup was refused (503): it made no call, so it has no epoch to requeue with.
  expect(await ledger.requeue(ref('b-doubt', 'd1'), 0, { code: 'HTTP_503', message: 'unavailable', mayHaveApplied: false, refused: true })).toBe(false);
  expect(await ledger.get(ref('b-doubt', 'd1'))).toMatchObject({ status: 'sending', attempts: 1 });
  expect(await fresh(ref('b-doubt', 'd1'))).toBe('not-fresh');
  // Its last attempt gave up on such a refusal: the payment may have been applied, so unknown, not failed.
  expect(await ledger.finalize(ref('b-doubt', 'd2'), { status: 'failed', code: 'HTTP_503', message: 'gave up', refused: true })).toBe('recorded');
  expect(await ledger.get(ref('b-doubt', 'd2'))).toMatchObject({ status: 'unknown', may_have_applied: '1' });
  expect(await batches.get('b-doubt')).toMatchObject({ n_unknown: 1, n_failed: 0 });
});

it('path 2, stalled overlap: a run that looked at a payment cannot send once another run marked it since', async () => {
  await newBatch('b-stall', ['o1', 100]);
  const r = ref('b-stall', 'o1');
  await fresh(r); // a call cut off by a crash: in doubt
  const seenByA = (await ledger.standing(r, 0))!.epoch;
  const seenByB = (await ledger.standing(r, 0))!.epoch;
  // B sends first (after its lookup); A wakes from its stall and tries with what it saw before.
  const markedByB = await ledger.beginSending(r, true, seenByB);
  expect(markedByB.permission).toBe('ready-in-doubt');
  expect(markedByB.epoch).toBeGreaterThan(seenByB);
  expect(await ledger.beginSending(r, true, seenByA)).toEqual({ permission: 'stale', epoch: 0 });
  // A's late answers are only its own: they do not overwrite B's call.
  expect(await ledger.requeue(r, seenByA, { code: 'HTTP_503', message: 'x', mayHaveApplied: false, refused: true })).toBe(false);
  expect(await ledger.finalize(r, { status: 'declined', code: 'X', message: 'stale run', epoch: seenByA })).toBe('ignored');
  expect(await ledger.get(r)).toMatchObject({ status: 'sending', epoch: markedByB.epoch, attempts: 2 });
});

it('path 2, clocks: whether a call may still be under way is judged by Redis TIME, not the worker clock', async () => {
  await newBatch('b-clock', ['c1', 100]);
  const r = ref('b-clock', 'c1');
  await fresh(r);
  // This worker's clock runs an hour ahead: by its own clock the call would long be over.
  vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + 3_600_000 });
  try {
    const standing = await ledger.standing(r, CALL_MS);
    expect(standing!.inFlightMs).toBeGreaterThan(CALL_MS - 5000);
    expect(standing!.inFlightMs).toBeLessThanOrEqual(CALL_MS);
  } finally {
    vi.useRealTimers();
  }
  const [seconds] = await redis.time();
  expect(Math.abs(Number((await ledger.get(r))!.sending_ms) - Number(seconds) * 1000)).toBeLessThan(5000);
});

it('path 4, retry on a settled batch: the batch is open again in the step that requeues, for the sweeper to look after', async () => {
  await newBatch('b-reopen', ['re1', 100]);
  await fresh(ref('b-reopen', 're1'));
  await ledger.finalize(ref('b-reopen', 're1'), { status: 'failed', code: 'X', message: 'gave up', epoch: await epochOf(ref('b-reopen', 're1')), refused: true });
  await batches.markSettled('b-reopen');
  expect(await batches.openBatchIds()).not.toContain('b-reopen');
  expect(await ledger.retry(ref('b-reopen', 're1'))).toEqual({ round: 1 });
  expect(await batches.openBatchIds()).toContain('b-reopen');
});

it('path 8, an unknown payment keeps its identity until a person settles it, whatever rememberPaymentsDays says', async () => {
  const shortMemory = new PaymentLedger(redis, keys, 'ctpayer', 'short8', archive, 60_000);
  await batches.create({ batchId: 'b-keep', provider: 'ctpayer', account: 'short8', source: 'm.csv', sha256: 'x', rowsTotal: 2 });
  await shortMemory.claim('b-keep', [payment('k-unknown'), payment('k-paid')]);
  for (const [id, status] of [['k-unknown', 'unknown'], ['k-paid', 'paid']] as const) {
    await mark(ref('b-keep', id), false, undefined, shortMemory);
    await shortMemory.finalize(ref('b-keep', id), { status, reference: 'T', code: 'X', message: '' });
  }
  const holder = (id: string) => keys.holder('ctpayer', 'short8', id);
  expect(await redis.pttl(holder('k-unknown'))).toBe(-1);
  expect(await redis.pttl(holder('k-paid'))).toBeGreaterThan(0);
  expect(await shortMemory.resolve(ref('b-keep', 'k-unknown'), { notPaid: true }, personHere('alice'))).toBeUndefined();
  expect(await redis.pttl(holder('k-unknown'))).toBeGreaterThan(0);
});

it('path 9, a late paid: after a person said not paid, or a second paid with another reference, it is kept as a conflict', async () => {
  await newBatch('b-late', ['l-not', 400], ['l-twice', 500], ['l-same', 600]);
  await fresh(ref('b-late', 'l-not'));
  await ledger.finalize(ref('b-late', 'l-not'), { status: 'unknown', code: 'NO_RESPONSE', message: '' });
  await ledger.resolve(ref('b-late', 'l-not'), { notPaid: true }, personHere('bob'));
  expect(await ledger.finalize(ref('b-late', 'l-not'), { status: 'paid', reference: 'LATE-1', code: 'success', message: 'late answer' })).toBe('conflict');
  expect(await ledger.get(ref('b-late', 'l-not'))).toMatchObject({ status: 'failed', conflict_code: 'LATE_PAID_AFTER_NOT_PAID', conflict_reference: 'LATE-1' });

  for (const id of ['l-twice', 'l-same']) {
    await fresh(ref('b-late', id));
    await ledger.finalize(ref('b-late', id), { status: 'paid', reference: 'T-1', code: 'success', message: '' });
  }
  expect(await ledger.finalize(ref('b-late', 'l-twice'), { status: 'paid', reference: 'T-2', code: 'success', message: '' })).toBe('conflict');
  expect(await ledger.get(ref('b-late', 'l-twice'))).toMatchObject({ status: 'paid', reference: 'T-1', conflict_code: 'SECOND_PAID', conflict_reference: 'T-2' });
  // The same answer again (a resend with the same key) is no conflict.
  expect(await ledger.finalize(ref('b-late', 'l-same'), { status: 'paid', reference: 'T-1', code: 'success', message: '' })).toBe('ignored');
  expect(await batches.get('b-late')).toMatchObject({ n_conflict: 2, n_paid: 2, c_paid: 1100, n_failed: 1 });
  // The failed row the provider says it paid after all is never sent again by retry, nor by a later manifest.
  expect(await ledger.retry(ref('b-late', 'l-not'))).toEqual({ refused: 'the provider answered paid after it failed (LATE_PAID_AFTER_NOT_PAID): check with the provider' });
  expect(await ledger.claim('b-late-again', [payment('l-not')])).toEqual(['b-late']);
});

it('path 11, long refusals: attempts count only calls that could have applied', async () => {
  await newBatch('b-attempts', ['t1', 100]);
  const r = ref('b-attempts', 't1');
  const epochs: number[] = [];
  for (let i = 0; i < 4; i++) {
    await fresh(r);
    epochs.push(await epochOf(r));
    await ledger.requeue(r, epochs.at(-1)!, { code: 'HTTP_503', message: 'unavailable', mayHaveApplied: false, refused: true });
  }
  await fresh(r);
  epochs.push(await epochOf(r));
  await ledger.requeue(r, epochs.at(-1)!, { code: 'NO_RESPONSE', message: 'lost', mayHaveApplied: true, refused: false });
  // Five marks, each with an epoch of its own.
  expect(new Set(epochs).size).toBe(5);
  expect(await ledger.get(r)).toMatchObject({ status: 'queued', attempts: 1, epoch: epochs.at(-1), may_have_applied: '1' });
});

it('a call whose answer was lost may still be under way at the provider: its window holds after the requeue too', async () => {
  await newBatch('b-lost', ['lost-1', 100]);
  const r = ref('b-lost', 'lost-1');
  await fresh(r);
  await ledger.requeue(r, await epochOf(r), { code: 'NO_RESPONSE', message: 'timed out', mayHaveApplied: true, refused: false });
  const standing = (await ledger.standing(r, CALL_MS))!;
  expect(standing).toMatchObject({ status: 'queued', mayHaveApplied: true });
  // A lookup (or resend) before the window ends could miss the call, or race it.
  expect(standing.inFlightMs).toBeGreaterThan(CALL_MS - 5000);
  // A refused call leaves nothing in doubt: no window.
  await newBatch('b-refused', ['ref-1', 100]);
  const q = ref('b-refused', 'ref-1');
  await fresh(q);
  await ledger.requeue(q, await epochOf(q), { code: 'HTTP_503', message: 'unavailable', mayHaveApplied: false, refused: true });
  expect((await ledger.standing(q, CALL_MS))!.inFlightMs).toBe(0);
});

it('releases an abandoned enqueue\'s unrecorded claim only if it was never marked sending: one a removed job sent may have moved money', async () => {
  await batches.create({ batchId: 'ab', provider: 'ctpayer', account: 'main', source: 'm.csv', sha256: 'x', rowsTotal: 2 });
  await ledger.claim('ab', [payment('never-sent'), payment('sent-once')]);
  // A job ran for sent-once: its call's answer was lost, it went back to queued, and its job is gone since.
  await mark(ref('ab', 'sent-once'), true);
  const sentWith = await epochOf(ref('ab', 'sent-once'));
  await ledger.requeue(ref('ab', 'sent-once'), sentWith, { code: 'NO_RESPONSE', message: 'retry', mayHaveApplied: true, refused: false });
  const settle = (paymentId: string) => settleUnrecordedClaim(redis, keys, { provider: 'ctpayer', account: 'main' }, { batchId: 'ab', paymentId, line: 2, amountCents: 1250, jobExists: false });

  expect(await settle('never-sent')).toBe('released');
  expect(await ledger.get(ref('ab', 'never-sent'))).toBeUndefined();
  expect(await settle('sent-once')).toBe('adopted');
  expect(await ledger.get(ref('ab', 'sent-once'))).toMatchObject({ status: 'queued', epoch: sentWith, may_have_applied: '1' });
  expect(await ledger.claim('later', [payment('sent-once'), payment('never-sent')])).toEqual(['ab', undefined]);
  expect(await batches.get('ab')).toMatchObject({ released: 1, accepted: 1, accepted_cents: 1250 });
});

it('keeps each provider field as its own hash field, and still reads a record that kept them as one JSON value', async () => {
  await ledger.claim('pf', [payment('pf-1')]);
  expect(await redis.hget(ledger.key(ref('pf', 'pf-1')), 'f.description')).toBe('Visit 1');
  expect(await redis.hexists(ledger.key(ref('pf', 'pf-1')), 'fields')).toBe(0);
  // As an earlier version recorded it.
  const legacy = ledger.key(ref('pf', 'pf-2'));
  await redis.hset(legacy, { batch_id: 'pf', line: 3, provider: 'ctpayer', account: 'main', payment_id: 'pf-2', payee: '1000000001', amount_cents: 700, status: 'queued', attempts: 0, submitted_at: '2026-12-01T00:00:00.000Z', fields: '{"cardId":"1000000001","description":"Visit 2"}' });
  expect((await ledger.get(ref('pf', 'pf-2')))?.fields).toEqual({ cardId: '1000000001', description: 'Visit 2' });
});

it('never retries a failed payment that another account of the provider has paid since (one Redis)', async () => {
  const other = new PaymentLedger(redis, keys, 'ctpayer', 'other', archive);
  await newBatch('xa', ['x1', 500]);
  await ledger.finalize(ref('xa', 'x1'), { status: 'failed', code: 'REFUSED', message: 'nothing moved', refused: true });
  // The other account claims it (main's payment failed: nothing holds it) and pays it.
  await batches.create({ batchId: 'xb', provider: 'ctpayer', account: 'other', source: 'm.csv', sha256: 'y', rowsTotal: 1 });
  expect(await claimPayments(redis, keys, { provider: 'ctpayer', account: 'other' }, 'xb', [payment('x1', 500)], ['main'])).toEqual([undefined]);
  await other.finalize(ref('xb', 'x1'), { status: 'paid', reference: 'T-x1', code: 'SUCCESS', message: 'Card loaded' });
  expect(await ledger.retry(ref('xa', 'x1'), personHere(), ['other'])).toEqual({ refused: 'batch xb now holds this payment' });
  expect(await ledger.get(ref('xa', 'x1'))).toMatchObject({ status: 'failed', round: 0 });
});
