import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startSandbox, type RunningSandbox } from '../../src/sandbox/index.js';

/** The CT Payer sandbox on the wire, exactly as docs/providers.md ("CT Payer") fixes it, on its default seed. */

let sandbox: RunningSandbox;
beforeAll(async () => {
  sandbox = await startSandbox('ctpayer', { port: 0 });
});
afterAll(() => sandbox?.close());
beforeEach(() => sandbox.reset());

const CREDENTIALS = { username: 'sandbox', password: 'sandbox-password', apiusername: 'tester' };

async function call(resource: string, params: Record<string, string>, credentials: Record<string, string> = CREDENTIALS) {
  const response = await fetch(`${sandbox.url}/${resource}.php`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ ...credentials, ...params }),
  });
  return { status: response.status, body: (await response.json()) as Record<string, string> };
}
const load = (params: Record<string, string>) => call('loadcard', { cardId: '1000000001', amount: '12.50', description: 'Visit 1 stipend', ...params });
const fundingCents = () => (sandbox.state() as { accounts: { fundingBalanceCents: number }[] }).accounts[0]!.fundingBalanceCents;

function expectInvalid(answer: { status: number; body: Record<string, string> }, parameter: string) {
  expect(answer.status).toBe(200);
  expect(answer.body).toMatchObject({ status: 'error', errorCode: 'INVALID_PARAMETER' });
  expect(answer.body.message).toMatch(new RegExp(`^${parameter}\\b`));
}
function expectValid(answer: { body: Record<string, string> }) {
  expect(answer.body.errorCode).not.toBe('INVALID_PARAMETER');
}

describe('seed', () => {
  it('holds the documented fixture: $50,000.00, cards 1–20 active, 21 unassigned, 22 canceled', async () => {
    expect((await call('getaccountbalance', {})).body).toEqual({ status: 'success', accountBalance: '50000.00' });
    expect((await call('getcarddetails', { cardId: '1000000020' })).body).toEqual({ status: 'success', cardId: '1000000020', participantId: 'P-0020', cardStatus: 'ACTIVE', cardBalance: '0.00' });
    expect((await call('getcarddetails', { cardId: '1000000021' })).body).toMatchObject({ participantId: '', cardStatus: 'UNASSIGNED' });
    expect((await call('getcarddetails', { cardId: '1000000022' })).body).toMatchObject({ participantId: 'P-0022', cardStatus: 'CANCELED' });
    expect((await call('getcarddetails', { cardId: '1000000023' })).body).toMatchObject({ errorCode: 'CARD_NOT_FOUND' });
  });
});

describe('authentication', () => {
  it('answers HTTP 401 AUTH_FAILED for a wrong password, unknown user or missing credentials', async () => {
    for (const credentials of [{ ...CREDENTIALS, password: 'wrong' }, { ...CREDENTIALS, username: 'nobody' }, { apiusername: 'tester' }]) {
      const answer = await call('loadcard', { cardId: '1000000001', amount: '1.00', description: 'x' }, credentials);
      expect(answer).toEqual({ status: 401, body: { status: 'error', errorCode: 'AUTH_FAILED', message: expect.any(String) } });
    }
    expect(sandbox.transactions()).toEqual([]);
  });

  it('echo answers success and needs no apiusername', async () => {
    expect(await call('echo', {}, { username: 'sandbox', password: 'sandbox-password' })).toEqual({ status: 200, body: { status: 'success' } });
  });
});

describe('loadcard', () => {
  it('moves the amount from the funding account to the card and records the load', async () => {
    const answer = await load({ internalPaymentId: 'pay-1', groupId: 'STUDY-A' });
    expect(answer).toEqual({ status: 200, body: { status: 'success', transactionId: expect.any(String), cardId: '1000000001', amount: '12.50', cardBalance: '12.50' } });
    expect(sandbox.transactions()).toEqual([
      { id: answer.body.transactionId, kind: 'load', account: 'sandbox', payee: '1000000001', amountCents: 1250, key: 'pay-1', description: 'Visit 1 stipend', at: expect.any(String) },
    ]);
    expect((await call('getcardbalance', { cardId: '1000000001' })).body).toEqual({ status: 'success', cardId: '1000000001', cardBalance: '12.50' });
    expect((await call('getaccountbalance', {})).body.accountBalance).toBe('49987.50');
  });

  it('answers a repeated internalPaymentId DUPLICATE_PAYMENT with the original transactionId, before any other check', async () => {
    const first = await load({ internalPaymentId: 'pay-1' });
    expect((await load({ internalPaymentId: 'pay-1' })).body).toEqual({ status: 'error', errorCode: 'DUPLICATE_PAYMENT', message: expect.any(String), transactionId: first.body.transactionId });
    // Even aimed at a canceled card and for more than the funding account holds.
    expect((await load({ internalPaymentId: 'pay-1', cardId: '1000000022', amount: '99999.00' })).body).toMatchObject({ errorCode: 'DUPLICATE_PAYMENT', transactionId: first.body.transactionId });
    expect(sandbox.transactions()).toHaveLength(1);
    expect((await call('getcardbalance', { cardId: '1000000001' })).body.cardBalance).toBe('12.50');
  });

  it('applies every load sent without an internalPaymentId, each with its own transactionId', async () => {
    const ids = [(await load({})).body.transactionId, (await load({})).body.transactionId];
    expect(new Set(ids).size).toBe(2);
    expect((await call('getcardbalance', { cardId: '1000000001' })).body.cardBalance).toBe('25.00');
  });

  it('declines unknown cards, cards that are not active and loads above the funding balance, applying nothing', async () => {
    expect((await load({ cardId: '1000000099' })).body).toMatchObject({ status: 'error', errorCode: 'CARD_NOT_FOUND' });
    expect((await load({ cardId: '1000000021' })).body).toMatchObject({ errorCode: 'CARD_NOT_ACTIVE' });
    expect((await load({ cardId: '1000000022' })).body).toMatchObject({ errorCode: 'CARD_NOT_ACTIVE' });
    expect((await load({ amount: '50000.01' })).body).toMatchObject({ errorCode: 'INSUFFICIENT_FUNDS' });
    expect((await load({ amount: '50000.00' })).body).toMatchObject({ status: 'success', cardBalance: '50000.00' });
    expect((await load({ amount: '0.01' })).body).toMatchObject({ errorCode: 'INSUFFICIENT_FUNDS' });
    expect(sandbox.transactions()).toHaveLength(1);
  });
});

describe('the other resources', () => {
  it('chargecard moves money from the card back to the funding account', async () => {
    await load({ amount: '20.00' });
    const answer = await call('chargecard', { cardId: '1000000001', amount: '5.25', reason: 'Overpayment' });
    expect(answer.body).toEqual({ status: 'success', transactionId: expect.any(String), cardId: '1000000001', amount: '5.25', cardBalance: '14.75' });
    expect(sandbox.transactions()[1]).toMatchObject({ id: answer.body.transactionId, kind: 'unload', payee: '1000000001', amountCents: 525, description: 'Overpayment' });
    expect(fundingCents()).toBe(5_000_000 - 2000 + 525);
    expect((await call('chargecard', { cardId: '1000000001', amount: '14.76', reason: 'x' })).body).toMatchObject({ errorCode: 'INSUFFICIENT_FUNDS' });
    expect((await call('chargecard', { cardId: '1000000022', amount: '1.00', reason: 'x' })).body).toMatchObject({ errorCode: 'CARD_NOT_ACTIVE' });
    expect((await call('chargecard', { cardId: '1000000098', amount: '1.00', reason: 'x' })).body).toMatchObject({ errorCode: 'CARD_NOT_FOUND' });
  });

  it('assigncard activates an unassigned card for a participant; any other card is refused', async () => {
    expect((await call('assigncard', { cardId: '1000000021', participantId: 'P-0021' })).body).toEqual({ status: 'success', cardId: '1000000021', participantId: 'P-0021' });
    expect((await call('getcarddetails', { cardId: '1000000021' })).body).toMatchObject({ participantId: 'P-0021', cardStatus: 'ACTIVE' });
    expect((await load({ cardId: '1000000021' })).body.status).toBe('success');
    const again = await call('assigncard', { cardId: '1000000021', participantId: 'P-9999' });
    expectInvalid(again, 'cardId');
    expectInvalid(await call('assigncard', { cardId: '1000000022', participantId: 'P-9999' }), 'cardId');
    expect((await call('assigncard', { cardId: '1000000097', participantId: 'P-9999' })).body).toMatchObject({ errorCode: 'CARD_NOT_FOUND' });
  });

  it('setcardstatus cancels a card, which then takes no loads', async () => {
    expect((await call('setcardstatus', { cardId: '1000000003', reason: 'Lost Card' })).body).toEqual({ status: 'success', cardId: '1000000003', cardStatus: 'CANCELED' });
    expect((await load({ cardId: '1000000003' })).body).toMatchObject({ errorCode: 'CARD_NOT_ACTIVE' });
    expect((await call('setcardstatus', { cardId: '1000000003', reason: 'Lost Card' })).body).toMatchObject({ errorCode: 'CARD_NOT_ACTIVE' });
  });
});

describe('parameter limits (INVALID_PARAMETER names the parameter)', () => {
  it('cardId: exactly 10 digits', async () => {
    expectValid(await load({ cardId: '1000000001' }));
    expectInvalid(await load({ cardId: '100000001' }), 'cardId');
    expectInvalid(await load({ cardId: '10000000011' }), 'cardId');
    expectInvalid(await load({ cardId: '10000000a1' }), 'cardId');
    expectInvalid(await call('getcardbalance', {}), 'cardId');
  });

  it('description: 1 to 30 characters, counted as characters, not bytes', async () => {
    expectValid(await load({ description: 'x'.repeat(30) }));
    expectValid(await load({ description: 'é'.repeat(30) }));
    expectValid(await load({ description: '💳'.repeat(30) }));
    expectInvalid(await load({ description: 'x'.repeat(31) }), 'description');
    expectInvalid(await load({ description: '💳'.repeat(31) }), 'description');
    expectInvalid(await load({ description: '' }), 'description');
  });

  it('groupId: at most 15 characters; participantId: at most 40; reason: at most 45', async () => {
    expectValid(await load({ groupId: 'g'.repeat(15) }));
    expectInvalid(await load({ groupId: 'g'.repeat(16) }), 'groupId');
    expectValid(await call('assigncard', { cardId: '1000000021', participantId: 'p'.repeat(40) }));
    sandbox.reset();
    expectInvalid(await call('assigncard', { cardId: '1000000021', participantId: 'p'.repeat(41) }), 'participantId');
    expectInvalid(await call('assigncard', { cardId: '1000000021' }), 'participantId');
    await load({ amount: '5.00' });
    expectValid(await call('chargecard', { cardId: '1000000001', amount: '1.00', reason: 'r'.repeat(45) }));
    expectInvalid(await call('chargecard', { cardId: '1000000001', amount: '1.00', reason: 'r'.repeat(46) }), 'reason');
    expectValid(await call('setcardstatus', { cardId: '1000000002', reason: 'r'.repeat(45) }));
    expectInvalid(await call('setcardstatus', { cardId: '1000000003', reason: 'r'.repeat(46) }), 'reason');
    expectInvalid(await call('setcardstatus', { cardId: '1000000003' }), 'reason');
  });

  it('internalPaymentId: letters, digits, - and _, at most 40', async () => {
    expectValid(await load({ internalPaymentId: `A-b_${'9'.repeat(36)}` }));
    expectInvalid(await load({ internalPaymentId: 'i'.repeat(41) }), 'internalPaymentId');
    expectInvalid(await load({ internalPaymentId: 'pay 1' }), 'internalPaymentId');
    expectInvalid(await load({ internalPaymentId: 'pay.1' }), 'internalPaymentId');
  });

  it('amount: positive dollars with two decimals', async () => {
    expectValid(await load({ amount: '0.01' }));
    for (const amount of ['0.00', '12.5', '12', '12.505', '-1.00', '1e3', '1,000.00', '$5.00', '']) {
      expectInvalid(await load({ amount }), 'amount');
    }
  });

  it('apiusername is required wherever it is documented; paymentDate must be MM/DD/YYYY HH:MM:SS', async () => {
    const noApiUser = { username: 'sandbox', password: 'sandbox-password' };
    for (const [resource, params] of [
      ['assigncard', { cardId: '1000000021', participantId: 'P' }],
      ['loadcard', { cardId: '1000000001', amount: '1.00', description: 'x' }],
      ['getcardbalance', { cardId: '1000000001' }],
      ['chargecard', { cardId: '1000000001', amount: '1.00', reason: 'x' }],
      ['setcardstatus', { cardId: '1000000001', reason: 'x' }],
      ['getaccountbalance', {}],
      ['getcarddetails', { cardId: '1000000001' }],
    ] as const) {
      expectInvalid(await call(resource, params, noApiUser), 'apiusername');
    }
    expectValid(await load({ paymentDate: '05/13/2026 07:28:39' }));
    expectInvalid(await load({ paymentDate: '2026-05-13 07:28:39' }), 'paymentDate');
    expect(sandbox.transactions()).toHaveLength(1);
  });
});

describe('undocumented parameters (INVALID_PARAMETER names the parameter, nothing applied)', () => {
  it('echo refuses apiusername: Echo documents username and password only', async () => {
    expectInvalid(await call('echo', {}), 'apiusername');
  });

  it('every other call refuses a parameter its documentation does not list', async () => {
    for (const [resource, params, undocumented] of [
      ['assigncard', { cardId: '1000000021', participantId: 'P-0021' }, 'reason'],
      ['loadcard', { cardId: '1000000001', amount: '1.00', description: 'x' }, 'reason'],
      ['chargecard', { cardId: '1000000001', amount: '1.00', reason: 'x' }, 'internalPaymentId'],
      ['setcardstatus', { cardId: '1000000001', reason: 'Lost Card' }, 'status'],
      ['getcardbalance', { cardId: '1000000001' }, 'participantId'],
      ['getaccountbalance', {}, 'cardId'],
      // A name every JavaScript object answers to is no more a parameter than any other.
      ['getcarddetails', { cardId: '1000000001' }, 'constructor'],
    ] as const) {
      expectInvalid(await call(resource, { ...params, [undocumented]: '1' }), undocumented);
    }
    expect(sandbox.transactions()).toEqual([]);
    expect((await call('getcarddetails', { cardId: '1000000021' })).body).toMatchObject({ cardStatus: 'UNASSIGNED' });
    expect((await call('getcarddetails', { cardId: '1000000001' })).body).toMatchObject({ cardStatus: 'ACTIVE' });
  });
});
