import { describe, expect, it } from 'vitest';
import { ctpayer, type CtPayerClient, type CtPayerCredentials } from '../../src/providers/ctpayer.js';
import type { RunningSandbox } from '../../src/sandbox/index.js';
import { sandboxPerFile } from '../helpers/client-context.js';
import { ctPayerCardBalance } from '../helpers/sandbox-state.js';

/** CT Payer reversals (chargecard) on the wire against the sandbox: every outcome they can reach. */

const CREDENTIALS: CtPayerCredentials = { username: 'sandbox', password: 'sandbox-password', apiusername: 'test-suite' };
const CARD = '1000000001';

let sandbox: RunningSandbox;
const cardBalance = (cardId: string) => ctPayerCardBalance(sandbox, cardId);
let client: CtPayerClient;
const contexts = sandboxPerFile('ctpayer', (started) => {
  sandbox = started;
  client = clientWith();
});

function clientWith(credentials = CREDENTIALS): CtPayerClient {
  return ctpayer.createClient(contexts.context(sandbox.url, credentials));
}

const fields = (cardId = CARD) => ({ cardId, description: 'Visit 1 stipend' });
const load = (cents: number, cardId = CARD) => client.pay({ paymentId: `p-${cents}`, idempotencyKey: `p-${cents}`, amountCents: cents, fields: fields(cardId) });
const reverse = (cents: number, options: { cardId?: string; reason?: string; by?: CtPayerClient } = {}) =>
  (options.by ?? client).reverse({ paymentId: `p-${cents}`, amountCents: cents, fields: fields(options.cardId), paymentReference: 'ref', reason: options.reason ?? 'Paid twice by mistake' });

it('reversed: the card goes down and the funding account up by exactly the amount; the reason is sent', async () => {
  await load(1250);
  const outcome = await reverse(1250);
  const unload = sandbox.transactions()[1]!;
  expect(outcome).toEqual({ kind: 'reversed', reference: unload.id, code: 'success', message: '' });
  expect(unload).toMatchObject({ kind: 'unload', payee: CARD, amountCents: 1250, description: 'Paid twice by mistake' });
  expect(cardBalance(CARD)).toBe(0);
  expect(await client.fundingBalanceCents()).toBe(5_000_000);
});

describe('refused (nothing moved)', () => {
  it.each([
    ['INSUFFICIENT_FUNDS', 'the card holds less than the amount (spent)', CARD, 1251],
    ['CARD_NOT_ACTIVE', 'a canceled card', '1000000022', 100],
    ['CARD_NOT_FOUND', 'an unknown card', '1000000099', 100],
  ] as const)('%s for %s', async (code, _, cardId, cents) => {
    await load(1250);
    expect(await reverse(cents, { cardId })).toEqual({ kind: 'refused', code, message: expect.any(String) });
    expect(sandbox.transactions()).toHaveLength(1);
    expect(cardBalance(CARD)).toBe(1250);
  });

  it('a reason over CT Payer\'s 45 characters is INVALID_PARAMETER (the adapter\'s reversal.reason refuses it first)', async () => {
    await load(1250);
    expect(await reverse(1250, { reason: 'r'.repeat(46) })).toMatchObject({ kind: 'refused', code: 'INVALID_PARAMETER', message: expect.stringMatching(/^reason/) });
    expect(ctpayer.reversal.reason.safeParse('r'.repeat(45)).success).toBe(true);
    expect(ctpayer.reversal.reason.safeParse('r'.repeat(46)).success).toBe(false);
    expect(ctpayer.reversal.reason.safeParse('').success).toBe(false);
  });
});

describe('retryable (nothing moved)', () => {
  it('HTTP 503 and 429 are throttled with the Retry-After', async () => {
    await load(1250);
    sandbox.setFaults([{ kind: 'retryable', times: 1, retryAfterSeconds: 2, paths: ['/chargecard.php'] }, { kind: 'throttle', times: 1, paths: ['/chargecard.php'] }]);
    expect(await reverse(1250)).toEqual({ kind: 'retryable', code: 'HTTP_503', message: expect.any(String), throttled: true, retryAfterMs: 2000 });
    expect(await reverse(1250)).toEqual({ kind: 'retryable', code: 'HTTP_429', message: expect.any(String), throttled: true, retryAfterMs: 1000 });
    expect(cardBalance(CARD)).toBe(1250);
  });

  it('AUTH_FAILED is retryable, not throttled', async () => {
    await load(1250);
    const outcome = await reverse(1250, { by: clientWith({ ...CREDENTIALS, password: 'wrong' }) });
    expect(outcome).toEqual({ kind: 'retryable', code: 'AUTH_FAILED', message: expect.any(String), throttled: false });
  });
});

describe('unknown (may have moved): chargecard has no key, so this is never resent by the program', () => {
  it.each([
    ['server-error', 'HTTP_500', 1250],
    ['drop-before', 'NO_RESPONSE', 1250],
    ['drop-after', 'NO_RESPONSE', 0],
    ['garbage', 'HTTP_200_UNREADABLE', 1250],
  ] as const)('%s → %s', async (kind, code, cardAfter) => {
    await load(1250);
    sandbox.setFaults([{ kind, paths: ['/chargecard.php'] }]);
    expect(await reverse(1250)).toEqual({ kind: 'unknown', code, message: expect.stringContaining('the reversal may have been applied') });
    sandbox.setFaults([]);
    expect(cardBalance(CARD)).toBe(cardAfter);
  });
});

it('an error code CT Payer never documented makes a reversal unknown, never refused: the charge may have been applied', async () => {
  await load(1250);
  sandbox.setFaults([{ kind: 'code', code: 'CHARGE_UNDER_REVIEW', applied: true, paths: ['/chargecard.php'], times: 1 }]);
  expect(await reverse(1250)).toEqual({ kind: 'unknown', code: 'CHARGE_UNDER_REVIEW', message: expect.stringContaining('the reversal may have been applied') });
  expect(sandbox.transactions().map((t) => t.kind)).toEqual(['load', 'unload']);
});
