import { afterAll, expect, it, vi } from 'vitest';
import { personHere } from '../../src/audit/actor.js';
import { BatchLedger } from '../../src/ledger/batches.js';
import { PaymentLedger, type PaymentRef } from '../../src/ledger/payments.js';
import { ReversalLedger } from '../../src/ledger/reversals.js';
import { testRedis } from '../helpers/redis.js';

/** The reversal transitions of ledger/reversals.ts, each one Lua script, against the real Redis. */

const { redis, keys, archive, cleanup } = testRedis();
afterAll(cleanup);
const batches = new BatchLedger(redis, keys, archive);
const payments = new PaymentLedger(redis, keys, 'ctpayer', 'main', archive);
const reversals = new ReversalLedger(redis, keys, 'ctpayer', 'main');

/** A batch whose one payment (its own payment id) of `cents` is paid. */
async function paid(batchId: string, cents = 1000): Promise<PaymentRef> {
  const ref = { batchId, paymentId: `p-${batchId}` };
  await batches.create({ batchId, provider: 'ctpayer', account: 'main', source: 'm.csv', sha256: 'x', rowsTotal: 1 });
  await payments.claim(batchId, [{ line: 2, paymentId: ref.paymentId, payee: '1000000001', amountCents: cents, fields: { cardId: '1000000001', description: 'Visit 1' } }]);
  await payments.beginFreshSending(ref);
  await payments.finalize(ref, { status: 'paid', reference: 'T1', code: 'success', message: '' });
  return ref;
}

/** Claims the payment's reversal for alice; returns the claim's epoch, which its answers carry. */
async function claimFor(ref: PaymentRef): Promise<number> {
  const claim = await reversals.claim(ref, 'x', personHere('alice'));
  if ('refusal' in claim) throw new Error(`not claimed: ${claim.refusal}`);
  return claim.epoch;
}

it('claims only a paid payment, once, and moves its count and cents on the batch each step', async () => {
  const ref = await paid('b-claim');
  const { epoch } = (await reversals.claim(ref, 'wrong card', personHere('alice'))) as { epoch: number };
  expect(epoch).toEqual(expect.any(Number));
  expect(await reversals.claim(ref, 'again', personHere('bob'))).toEqual({ refusal: 'reversing' });
  expect(await payments.get(ref)).toMatchObject({ status: 'reversing', reversal_by: 'alice', reversal_reason: 'wrong card', reference: 'T1' });
  expect(await batches.get('b-claim')).toMatchObject({ final: 1, n_paid: 0, c_paid: 0, n_reversing: 1, c_reversing: 1000 });

  // Only the claim's own answer is recorded.
  expect(await reversals.settle(ref, { to: 'reversed', reference: 'R1', code: 'success', message: '' }, epoch + 1)).toBe(false);
  expect(await reversals.settle(ref, { to: 'reversed', reference: 'R1', code: 'success', message: '' }, epoch)).toBe(true);
  expect(await reversals.settle(ref, { to: 'paid', definite: true, code: 'LATE', message: '' }, epoch)).toBe(false);
  expect(await reversals.claim(ref, 'again', personHere('bob'))).toEqual({ refusal: 'reversed' });
  expect(await payments.get(ref)).toMatchObject({ status: 'reversed', reversal_reference: 'R1', reference: 'T1' });
  expect(await batches.get('b-claim')).toMatchObject({ final: 1, n_reversing: 0, n_reversed: 1, c_reversed: 1000 });
  // Final for paying: a payment job that runs again sends nothing.
  expect((await payments.beginSending(ref, true, 1)).permission).toBe('final');
  expect((await payments.beginFreshSending(ref)).permission).toBe('not-fresh');
  // The payment's own paid answer again (a late copy) changes nothing.
  expect(await payments.finalize(ref, { status: 'paid', reference: 'T1', code: 'success', message: '' })).toBe('ignored');

  const unpaid = { batchId: 'b-claim', paymentId: 'nobody' };
  expect(await reversals.claim(unpaid, 'x', personHere('alice'))).toEqual({ refusal: 'missing' });
});

it('a refusal puts the payment back to paid with the answer kept; a new claim clears the old answer', async () => {
  const ref = await paid('b-refused');
  await reversals.settle(ref, { to: 'paid', definite: true, code: 'INSUFFICIENT_FUNDS', message: 'card holds less' }, await claimFor(ref));
  expect(await payments.get(ref)).toMatchObject({ status: 'paid', reversal_code: 'INSUFFICIENT_FUNDS', reversal_by: 'alice' });
  expect(await batches.get('b-refused')).toMatchObject({ n_paid: 1, n_reversing: 0 });
  await reversals.claim(ref, 'try again', personHere('bob'));
  const claimed = await payments.get(ref);
  expect(claimed).toMatchObject({ status: 'reversing', reversal_by: 'bob' });
  expect(claimed?.reversal_code).toBeUndefined();
});

it('a definite answer replaces a reversal_unknown; a retry-later one does not; a person settles the rest', async () => {
  const ref = await paid('b-unknown', 700);
  const epoch = await claimFor(ref);
  await reversals.settle(ref, { to: 'reversal_unknown', code: 'NO_RESPONSE', message: '' }, epoch);
  expect(await reversals.settle(ref, { to: 'paid', definite: false, code: '80000', message: '' }, epoch)).toBe(false);
  expect(await reversals.settle(ref, { to: 'reversed', reference: 'R7', code: 'success', message: '' }, epoch)).toBe(true);
  expect(await batches.get('b-unknown')).toMatchObject({ final: 1, n_reversal_unknown: 0, n_reversed: 1, c_reversed: 700 });
  expect(await reversals.resolve(ref, { notReversed: true }, personHere('carol'))).toBe('reversed');

  const other = await paid('b-resolve', 300);
  await reversals.settle(other, { to: 'reversal_unknown', code: 'NO_RESPONSE', message: '' }, await claimFor(other));
  expect(await reversals.resolve(other, { notReversed: true }, personHere('carol'))).toBeUndefined();
  expect(await payments.get(other)).toMatchObject({ status: 'paid', reversal_code: 'RESOLVED_NOT_REVERSED', reversal_resolved_by: 'carol' });
  expect(await batches.get('b-resolve')).toMatchObject({ n_paid: 1, n_reversal_unknown: 0 });
});

it('marks a claim interrupted only once it is older than any call can last, by Redis\'s clock', async () => {
  const ref = await paid('b-interrupt');
  await reversals.claim(ref, 'x', personHere('dave'));
  // This process's clock runs an hour ahead: the claim is still recent by Redis's.
  vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + 3_600_000 });
  try {
    expect(await reversals.interrupt(ref, 20_000)).toBe(false);
  } finally {
    vi.useRealTimers();
  }
  expect(await payments.get(ref)).toMatchObject({ status: 'reversing' });
  await new Promise((resolve) => setTimeout(resolve, 50));
  expect(await reversals.interrupt(ref, 10)).toBe(true);
  expect(await payments.get(ref)).toMatchObject({ status: 'reversal_unknown', reversal_code: 'INTERRUPTED' });
  expect(await batches.get('b-interrupt')).toMatchObject({ n_reversing: 0, n_reversal_unknown: 1 });
});

it('a reversed payment keeps its identity: a later batch with the same payment does not pay it', async () => {
  const ref = await paid('b-held');
  await reversals.settle(ref, { to: 'reversed', reference: 'R1', code: 'success', message: '' }, await claimFor(ref));
  const again = await payments.claim('b-later', [{ line: 2, paymentId: ref.paymentId, payee: '1000000001', amountCents: 1000, fields: {} }]);
  expect(again).toEqual(['b-held']);
});
