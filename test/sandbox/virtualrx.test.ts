import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { fixturePath } from '../../src/package-root.js';
import { startSandbox, type RunningSandbox } from '../../src/sandbox/index.js';

/** The VirtualRx sandbox on the wire, as its API documentation and docs/providers.md ("VirtualRx") describe it. */

// The default seed, plus two customers the default cannot produce: one near the program's maximum
// balance (which the daily limit keeps out of reach) and one with active holds.
const NEAR_MAX = '30000000001';
const WITH_HOLDS = '30000000002';

let sandbox: RunningSandbox;
beforeAll(async () => {
  const seed = JSON.parse(await readFile(fixturePath('virtualrx', 'sandbox.json'), 'utf8'));
  seed.customers.push(
    { CustId: NEAR_MAX, ProgramId: '7311', status: 'active', balanceCents: 499_999 },
    { CustId: WITH_HOLDS, ProgramId: '7311', status: 'active', balanceCents: 0, holdsCents: 500 },
  );
  sandbox = await startSandbox('virtualrx', { port: 0, seed });
});
afterAll(() => sandbox?.close());
beforeEach(() => sandbox.reset());

interface Envelope {
  ResponseDetails: Record<string, string>;
  ResponseParams?: Record<string, string>;
}

async function send(body: unknown, token: string | null = 'sandbox-token') {
  const response = await fetch(`${sandbox.url}/jsonapi.php`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token === null ? {} : { authorization: `Bearer ${token}` }) },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Envelope };
}
const DATA = { CustId: '20230226001', ProgramId: '7311', Amount: '1250', ReasonDescription: 'Visit 1', ClaimReferenceNumber: 'CLM-1', ClientGroupID: 'GRP-1' };
const payment = (data: Record<string, unknown> = {}) => send({ ServiceName: 'Payment', data: { ...DATA, ...data } });
const voidPayment = (data: Record<string, unknown> = {}) => send({ ServiceName: 'VoidPayment', data: { ...DATA, ...data } });
const code = (answer: { body: Envelope }) => answer.body.ResponseDetails.StatusCode;
const balance = (custId: string) => (sandbox.state() as { customers: { CustId: string; balanceCents: number }[] }).customers.find((c) => c.CustId === custId)!.balanceCents;

describe('Payment', () => {
  it('loads the card and answers the documented envelope, ServiceId being the transaction id', async () => {
    const answer = await payment();
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({
      ResponseDetails: {
        ServiceName: 'Payment',
        SessionId: expect.stringMatching(/^[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$/),
        StatusCode: '0',
        StatusName: 'StatusOK',
        StatusDescription: 'NA',
        ServiceDate: expect.stringMatching(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/),
        ServiceId: answer.body.ResponseDetails.SessionId,
      },
      ResponseParams: { balance_before_transaction: '0', balance_after_transaction: '1250', active_holds: '0' },
    });
    expect(sandbox.transactions()).toEqual([
      { id: answer.body.ResponseDetails.ServiceId, kind: 'load', account: 'sandbox', payee: '20230226001', amountCents: 1250, key: 'CLM-1', description: 'Visit 1', at: expect.any(String) },
    ]);
    expect(balance('20230226001')).toBe(1250);
  });

  it('is not idempotent: the same Payment sent twice pays twice', async () => {
    await payment();
    const second = await payment();
    expect(second.body.ResponseParams).toMatchObject({ balance_before_transaction: '1250', balance_after_transaction: '2500' });
    expect(sandbox.transactions()).toHaveLength(2);
  });

  it('declines unissued, unknown and suspended customers, and a program that is not the customer\'s', async () => {
    expect(code(await payment({ CustId: '20230226022' }))).toBe('70022');
    expect(code(await payment({ CustId: '99999999999' }))).toBe('70022');
    expect(code(await payment({ ProgramId: '9999' }))).toBe('70022');
    const suspended = await payment({ CustId: '20230226021' });
    expect(suspended.body.ResponseDetails).toMatchObject({ StatusCode: '70025', StatusName: 'VRX Reload - DECLINED' });
    expect(suspended.body.ResponseParams).toBeUndefined();
    expect(sandbox.transactions()).toEqual([]);
  });

  it('enforces the program limits: 70061 per load, 70062 maximum balance, 70063 daily', async () => {
    expect(code(await payment({ Amount: '50001' }))).toBe('70061');
    expect(code(await payment({ Amount: '50000' }))).toBe('0');

    expect(code(await payment({ CustId: NEAR_MAX, Amount: '2' }))).toBe('70062');
    expect(code(await payment({ CustId: NEAR_MAX, Amount: '1' }))).toBe('0');
    expect(balance(NEAR_MAX)).toBe(500_000);

    for (let i = 0; i < 3; i += 1) expect(code(await payment({ Amount: '50000' }))).toBe('0');
    const daily = await payment({ Amount: '1' });
    expect(daily.body.ResponseDetails).toMatchObject({ StatusCode: '70063', StatusName: 'LimitsViolation' });
    // The daily limit is per customer.
    expect(code(await payment({ CustId: '20230226002', Amount: '1' }))).toBe('0');
    expect(balance('20230226001')).toBe(200_000);
  });

  it('answers 90001 InvalidRequest naming the field for a malformed request', async () => {
    for (const field of ['CustId', 'ProgramId', 'Amount', 'ClaimReferenceNumber', 'ClientGroupID']) {
      const answer = await payment({ [field]: undefined });
      expect(answer.body.ResponseDetails).toMatchObject({ StatusCode: '90001', StatusName: 'InvalidRequest' });
      expect(answer.body.ResponseDetails.StatusDescription).toContain(`data.${field}`);
    }
    for (const Amount of ['0', '-5', '12.50', '', 'ten', 1250]) {
      const answer = await payment({ Amount });
      expect([code(answer), answer.body.ResponseDetails.StatusDescription]).toEqual(['90001', expect.stringContaining('data.Amount')]);
    }
    expect(code(await payment({ ReasonDescription: undefined }))).toBe('0');
    expect((await send({ ServiceName: 'Refund', data: DATA })).body.ResponseDetails).toMatchObject({ StatusCode: '90001', StatusDescription: expect.stringContaining('ServiceName') });
    expect((await send('{not json')).body.ResponseDetails).toMatchObject({ StatusCode: '90001', StatusDescription: expect.stringContaining('not JSON') });
    expect(sandbox.transactions()).toHaveLength(1);
  });
});

describe('authentication', () => {
  it('answers HTTP 401 with StatusCode "401" for a missing or unknown token, logging no token', async () => {
    for (const token of [null, 'wrong-token']) {
      const answer = await send({ ServiceName: 'Payment', data: DATA }, token);
      expect(answer.status).toBe(401);
      expect(answer.body.ResponseDetails).toMatchObject({ StatusCode: '401', StatusName: 'Unauthorized' });
    }
    await payment();
    expect(sandbox.requests().map((r) => [r.status, r.account])).toEqual([[401, undefined], [401, undefined], [200, 'sandbox']]);
    expect(JSON.stringify([sandbox.requests(), sandbox.transactions(), sandbox.state()])).not.toContain('sandbox-token');
  });
});

describe('VoidPayment', () => {
  it('reverses an earlier Payment with the same fields once, recording an unload', async () => {
    await payment();
    const answer = await voidPayment();
    expect(answer.body.ResponseDetails).toMatchObject({ ServiceName: 'VoidPayment', StatusCode: '0' });
    expect(answer.body.ResponseParams).toEqual({ balance_before_transaction: '1250', balance_after_transaction: '0', active_holds: '0' });
    expect(sandbox.transactions()[1]).toMatchObject({ id: answer.body.ResponseDetails.ServiceId, kind: 'unload', payee: '20230226001', amountCents: 1250, key: 'CLM-1' });
    expect(balance('20230226001')).toBe(0);
    // Nothing left to void.
    expect((await voidPayment()).body.ResponseDetails).toMatchObject({ StatusCode: '70038', StatusName: 'VRX Unload - DECLINED' });
  });

  it('answers 70038 when no Payment with these fields exists', async () => {
    await payment();
    expect(code(await voidPayment({ ClaimReferenceNumber: 'CLM-2' }))).toBe('70038');
    expect(code(await voidPayment({ Amount: '1249' }))).toBe('70038');
    expect(code(await voidPayment({ CustId: '99999999999' }))).toBe('70038');
    expect(balance('20230226001')).toBe(1250);
  });

  it('answers 40001 when the available balance (balance minus holds) is below the amount', async () => {
    await payment({ CustId: WITH_HOLDS, Amount: '1000' });
    const answer = await voidPayment({ CustId: WITH_HOLDS, Amount: '1000' });
    expect(answer.body.ResponseDetails).toMatchObject({ StatusCode: '40001', StatusName: 'VRX Unload - DECLINED' });
    expect(balance(WITH_HOLDS)).toBe(1000);
    const held = await payment({ CustId: WITH_HOLDS, Amount: '1' });
    expect(held.body.ResponseParams?.active_holds).toBe('500');
  });

  it('answers 70025 for a suspended customer', async () => {
    expect(code(await voidPayment({ CustId: '20230226021' }))).toBe('70025');
  });
});

describe('faults', () => {
  it('retryable is the documented 80000 answer, HTTP 200, with nothing applied', async () => {
    sandbox.setFaults([{ kind: 'retryable', times: 1, match: { CustId: '20230226003' } }]);
    const answer = await payment({ CustId: '20230226003' });
    expect(answer.status).toBe(200);
    expect(answer.body.ResponseDetails).toMatchObject({ ServiceName: 'Payment', StatusCode: '80000', StatusName: 'Unknown Error' });
    expect(sandbox.transactions()).toEqual([]);
    expect(code(await payment({ CustId: '20230226003' }))).toBe('0');
  });

  it('targets Payments by default, not VoidPayments; ServiceName can be matched', async () => {
    const status = async (ServiceName: string) =>
      (await fetch(`${sandbox.url}/jsonapi.php`, { method: 'POST', headers: { authorization: 'Bearer sandbox-token' }, body: JSON.stringify({ ServiceName, data: DATA }) })).status;
    await payment();
    sandbox.setFaults([{ kind: 'server-error' }]);
    expect(code(await voidPayment())).toBe('0');
    expect(await status('Payment')).toBe(500);

    sandbox.setFaults([{ kind: 'throttle', paths: ['/jsonapi.php'], match: { ServiceName: 'VoidPayment' } }]);
    expect(await status('VoidPayment')).toBe(429);
    expect(code(await payment())).toBe('0');
  });
});
