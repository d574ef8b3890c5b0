import { afterAll, expect, it } from 'vitest';
import { BatchLedger } from '../../src/ledger/batches.js';
import { PaymentLedger } from '../../src/ledger/payments.js';
import { testRedis } from '../helpers/redis.js';

const { redis, keys, cleanup } = testRedis();
afterAll(cleanup);
const batches = new BatchLedger(redis, keys);
const ledger = new PaymentLedger(redis, keys, 'ctpayer', 'main');
const payment = (paymentId: string, amountCents = 1250) => ({ line: 2, paymentId, payee: '1000000001', amountCents });

async function newBatch(batchId: string) {
  await batches.create({ batchId, provider: 'ctpayer', account: 'main', source: 'm.csv', sha256: 'x', rowsTotal: 1 });
  await batches.markEnqueued(batchId);
}

it('claims a payment once: another batch finds it held, the same batch may claim it again', async () => {
  expect(await ledger.claim('b1', [payment('p1'), payment('p2')])).toEqual([undefined, undefined]);
  expect(await ledger.claim('b2', [payment('p1'), payment('p3')])).toEqual(['b1', undefined]);
  expect(await ledger.claim('b1', [payment('p1')])).toEqual([undefined]);
  expect(await ledger.get('p1')).toMatchObject({ batch_id: 'b1', status: 'queued', amount_cents: 1250, attempts: 0 });
});

it('allows a call only from queued; a second run finds the first one in doubt', async () => {
  await ledger.claim('b1', [payment('s1'), payment('s2')]);
  expect(await ledger.beginSending('s1', false)).toBe('ready');
  expect(await ledger.beginSending('s1', false)).toBe('in-doubt');
  expect(await ledger.get('s1')).toMatchObject({ status: 'sending', attempts: 1, may_have_applied: '1' });

  expect(await ledger.beginSending('s2', true)).toBe('ready');
  expect(await ledger.beginSending('s2', true)).toBe('ready-in-doubt');
  expect(await ledger.get('s2')).toMatchObject({ status: 'sending', attempts: 2 });
  // The doubt stays with the payment: a later, orderly attempt still has to settle it first.
  await ledger.requeue('s2', 'X', 'retry', false);
  expect(await ledger.beginSending('s2', true)).toBe('ready-in-doubt');
  expect(await ledger.beginSending('nobody', true)).toBe('missing');
});

it('records a final status once and counts it on the batch once', async () => {
  await newBatch('b-final');
  await ledger.claim('b-final', [payment('f1', 500), payment('f2', 700)]);
  for (const id of ['f1', 'f2']) await ledger.beginSending(id, false);
  expect(await ledger.finalize(keys.batch('b-final'), 'f1', { status: 'paid', reference: 'T1', code: 'success', message: '' })).toBe(true);
  expect(await ledger.finalize(keys.batch('b-final'), 'f1', { status: 'failed', code: 'X', message: 'late' })).toBe(false);
  expect(await ledger.finalize(keys.batch('b-final'), 'f2', { status: 'declined', code: 'CARD_NOT_ACTIVE', message: '' })).toBe(true);
  expect(await ledger.beginSending('f1', true)).toBe('final');
  const batch = await batches.get('b-final');
  expect(batch).toMatchObject({ final: 2, n_paid: 1, c_paid: 500, n_declined: 1, c_declined: 700, n_failed: 0 });
  expect(await ledger.get('f1')).toMatchObject({ status: 'paid', reference: 'T1' });
});

it('lets a definite answer replace an unknown, moving the batch counts with it', async () => {
  await newBatch('b-upgrade');
  await ledger.claim('b-upgrade', [payment('u1', 900)]);
  await ledger.beginSending('u1', false);
  await ledger.finalize(keys.batch('b-upgrade'), 'u1', { status: 'unknown', code: 'NO_RESPONSE', message: '' });
  expect(await ledger.finalize(keys.batch('b-upgrade'), 'u1', { status: 'paid', reference: 'T9', code: 'success', message: '' })).toBe(true);
  expect(await ledger.finalize(keys.batch('b-upgrade'), 'u1', { status: 'unknown', code: 'X', message: '' })).toBe(false);
  expect(await batches.get('b-upgrade')).toMatchObject({ final: 1, n_paid: 1, c_paid: 900, n_unknown: 0, c_unknown: 0 });
});

it('requeues only a payment that is being sent, remembering an unknown outcome', async () => {
  await ledger.claim('b1', [payment('r1')]);
  await ledger.requeue('r1', 'X', 'not sending', false);
  expect((await ledger.get('r1'))?.status).toBe('queued');
  await ledger.beginSending('r1', true);
  await ledger.requeue('r1', 'NO_RESPONSE', 'lost', true);
  expect(await ledger.get('r1')).toMatchObject({ status: 'queued', code: 'NO_RESPONSE', may_have_applied: '1' });
});

it('settles a payment whose job ended without an outcome: unknown if a call may have applied, else failed', async () => {
  await newBatch('b-abandon');
  await ledger.claim('b-abandon', [payment('a1', 100), payment('a2', 200), payment('a3', 300)]);
  await ledger.beginSending('a1', false); // cut off during the call
  await ledger.beginSending('a3', true);
  await ledger.requeue('a3', 'NO_RESPONSE', 'lost', true); // an earlier call's outcome was unknown
  const abandon = (id: string) => ledger.finalize(keys.batch('b-abandon'), id, { status: 'abandoned', code: 'INTERNAL_ERROR', message: 'x' });
  expect(await Promise.all(['a1', 'a2', 'a3'].map(abandon))).toEqual([true, true, true]);
  expect((await ledger.get('a1'))?.status).toBe('unknown');
  expect((await ledger.get('a2'))?.status).toBe('failed');
  expect((await ledger.get('a3'))?.status).toBe('unknown');
  expect(await batches.get('b-abandon')).toMatchObject({ final: 3, n_unknown: 2, c_unknown: 400, n_failed: 1, c_failed: 200 });
});

it('keeps the first idempotency key a payment gets and hands it out on every later attempt', async () => {
  await ledger.claim('b1', [payment('k1')]);
  expect(await ledger.keptKey('k1')).toBeUndefined();
  expect(await ledger.keepKey('k1', 'req-1')).toBe('req-1');
  expect(await ledger.keepKey('k1', 'req-2')).toBe('req-1');
  expect(await ledger.keptKey('k1')).toBe('req-1');
  expect((await ledger.get('k1'))?.idem_key).toBe('req-1');
});
