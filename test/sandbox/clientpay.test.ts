import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startSandbox, type RunningSandbox } from '../../src/sandbox/index.js';

/** The ClientPay sandbox on the wire, as its API documentation and docs/providers.md ("ClientPay") describe it, on its default seed. */

let sandbox: RunningSandbox;
beforeAll(async () => {
  sandbox = await startSandbox('clientpay', { port: 0 });
});
afterAll(() => sandbox?.close());
beforeEach(() => sandbox.reset());

const CREDENTIALS = { integratorKey: 'sandbox-integrator', accountKey: 'sandbox-account', accountPin: '4826' };

interface Reply {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
}

async function post(path: string, body: unknown, init: { method?: string; contentType?: string } = {}): Promise<Reply> {
  const response = await fetch(`${sandbox.url}/v2/${path}`, {
    method: init.method ?? 'POST',
    headers: { 'content-type': init.contentType ?? 'application/json' },
    ...(init.method === 'GET' ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  // Injected faults answer with text that is not JSON.
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: (response.headers.get('content-type') === 'application/json' ? JSON.parse(text) : { text }) as Record<string, unknown> };
}
const newAccessId = async () => (await post('access-id/new', CREDENTIALS)).body.accessId as string;
const newRequestId = async (accessId: string) => (await post('request-id', { accessId })).body.requestId as string;
const PAYMENT = { amount: '12.50', payeeToken: 'PT-0001', description: 'Visit 1 stipend', referenceNumber: 'REF-1' };
const payment = (accessId: string, requestId: string, change: Record<string, unknown> = {}) => post('payment', { accessId, requestId, ...PAYMENT, ...change });
const error = (status: number, code: string) => ({ status, body: { error: { code, message: expect.any(String) } } });
const balance = (payeeToken: string) =>
  (sandbox.state() as { accounts: { payees: { payeeToken: string; balanceCents: number }[] }[] }).accounts[0]!.payees.find((p) => p.payeeToken === payeeToken)!.balanceCents;

describe('seed', () => {
  it('holds the documented fixture: payees PT-0001…PT-0020 at 0, PT-0021 declining; no accessId yet', async () => {
    const { payees } = (sandbox.state() as { accounts: { label: string; payees: unknown[] }[] }).accounts[0]!;
    expect(payees).toHaveLength(21);
    expect(payees[0]).toEqual({ payeeToken: 'PT-0001', balanceCents: 0 });
    expect(payees[19]).toEqual({ payeeToken: 'PT-0020', balanceCents: 0 });
    expect(payees[20]).toEqual({ payeeToken: 'PT-0021', balanceCents: 0, declineReason: 'payee account closed' });
    expect(await post('access-id/current', CREDENTIALS)).toMatchObject({ status: 200, body: { accessId: null } });
  });
});

describe('access ids', () => {
  it('new issues one, current returns it, and it validates', async () => {
    const accessId = await newAccessId();
    expect(accessId).toMatch(/^[0-9a-f]{32}$/);
    expect((await post('access-id/current', CREDENTIALS)).body).toEqual({ accessId });
    expect((await post('access-id/validate', { accessId })).body).toEqual({ valid: true });
  });

  it('a new one expires the previous one for every call', async () => {
    const first = await newAccessId();
    const second = await newAccessId();
    expect(second).not.toBe(first);
    expect((await post('access-id/validate', { accessId: first })).body).toEqual({ valid: false });
    expect(await post('request-id', { accessId: first })).toMatchObject(error(401, 'INVALID_ACCESS_ID'));
    expect((await post('access-id/current', CREDENTIALS)).body).toEqual({ accessId: second });
  });

  it('expire ends the current one; the account then has none until a new one', async () => {
    const accessId = await newAccessId();
    expect(await post('access-id/expire', { accessId })).toEqual({ status: 200, headers: expect.anything(), body: { expired: true } });
    expect((await post('access-id/validate', { accessId })).body).toEqual({ valid: false });
    expect((await post('access-id/current', CREDENTIALS)).body).toEqual({ accessId: null });
    expect(await post('access-id/expire', { accessId })).toMatchObject(error(401, 'INVALID_ACCESS_ID'));
    expect(await post('payment', { accessId, requestId: 'x', ...PAYMENT })).toMatchObject(error(401, 'INVALID_ACCESS_ID'));
  });

  it('an unknown accessId does not validate; a missing one is a VALIDATION_ERROR', async () => {
    expect((await post('access-id/validate', { accessId: 'nope' })).body).toEqual({ valid: false });
    expect(await post('access-id/validate', {})).toMatchObject(error(400, 'VALIDATION_ERROR'));
  });

  it('answers 401 INVALID_CREDENTIALS for credentials matching no account, 400 for a missing one', async () => {
    for (const credentials of [{ ...CREDENTIALS, accountPin: '9999' }, { ...CREDENTIALS, integratorKey: 'other' }, { ...CREDENTIALS, accountKey: 'other' }]) {
      expect(await post('access-id/new', credentials)).toMatchObject(error(401, 'INVALID_CREDENTIALS'));
      expect(await post('access-id/current', credentials)).toMatchObject(error(401, 'INVALID_CREDENTIALS'));
    }
    const answer = await post('access-id/new', { integratorKey: 'sandbox-integrator', accountKey: 'sandbox-account' });
    expect(answer).toMatchObject(error(400, 'VALIDATION_ERROR'));
    expect((answer.body.error as { message: string }).message).toMatch(/^accountPin\b/);
  });
});

describe('request ids', () => {
  it('issues a fresh one per call, and they outlive the accessId that asked for them', async () => {
    const accessId = await newAccessId();
    const ids = [await newRequestId(accessId), await newRequestId(accessId)];
    expect(new Set(ids).size).toBe(2);
    const renewed = await newAccessId();
    expect((await payment(renewed, ids[0]!)).body).toMatchObject({ status: 'APPROVED' });
  });

  it('refuses a payment with a requestId it never issued, applying nothing', async () => {
    const accessId = await newAccessId();
    const answer = await payment(accessId, 'made-up');
    expect(answer).toMatchObject(error(400, 'VALIDATION_ERROR'));
    expect((answer.body.error as { message: string }).message).toMatch(/^requestId\b/);
    expect(sandbox.transactions()).toEqual([]);
  });
});

describe('payment', () => {
  it('APPROVED: the payee up by exactly the amount, one load recorded under the requestId', async () => {
    const accessId = await newAccessId();
    const requestId = await newRequestId(accessId);
    const answer = await payment(accessId, requestId, { amount: '1234.05', payeeToken: 'PT-0007' });
    expect(answer).toMatchObject({ status: 200, body: { transactionId: expect.stringMatching(/^CP\d+$/), status: 'APPROVED', amount: '1234.05' } });
    expect(Object.keys(answer.body)).toEqual(['transactionId', 'status', 'amount']);
    expect(sandbox.transactions()).toEqual([
      { id: answer.body.transactionId, kind: 'load', account: 'sandbox', payee: 'PT-0007', amountCents: 123_405, key: requestId, description: 'Visit 1 stipend', at: expect.any(String) },
    ]);
    expect(balance('PT-0007')).toBe(123_405);
  });

  it('DECLINED with the declineReason for a payee that declines; nothing moves', async () => {
    const accessId = await newAccessId();
    const answer = await payment(accessId, await newRequestId(accessId), { payeeToken: 'PT-0021' });
    expect(answer).toMatchObject({ status: 200, body: { transactionId: expect.any(String), status: 'DECLINED', amount: '12.50', declineReason: 'payee account closed' } });
    expect(sandbox.transactions()).toEqual([]);
    expect(balance('PT-0021')).toBe(0);
  });

  it('the same requestId and body is answered with the first result, even with a renewed accessId', async () => {
    const accessId = await newAccessId();
    const requestId = await newRequestId(accessId);
    const first = await payment(accessId, requestId);
    expect(await payment(accessId, requestId)).toMatchObject({ status: 200, body: first.body });
    expect(await payment(await newAccessId(), requestId)).toMatchObject({ status: 200, body: first.body });
    expect(sandbox.transactions()).toHaveLength(1);
    expect(balance('PT-0001')).toBe(1250);
    const declinedId = await newRequestId(await newAccessId());
    const current = (await post('access-id/current', CREDENTIALS)).body.accessId as string;
    const declined = await payment(current, declinedId, { payeeToken: 'PT-0021' });
    expect((await payment(current, declinedId, { payeeToken: 'PT-0021' })).body).toEqual(declined.body);
  });

  it('the same requestId with another body is 409 REQUEST_ID_USED, applying nothing', async () => {
    const accessId = await newAccessId();
    const requestId = await newRequestId(accessId);
    await payment(accessId, requestId);
    for (const change of [{ amount: '12.51' }, { payeeToken: 'PT-0002' }, { description: 'other' }, { referenceNumber: 'REF-2' }, { amount: 'bad' }]) {
      expect(await payment(accessId, requestId, change)).toMatchObject(error(409, 'REQUEST_ID_USED'));
    }
    expect(sandbox.transactions()).toHaveLength(1);
    expect(balance('PT-0001')).toBe(1250);
  });

  it('an error answer binds nothing: the requestId can be sent again, corrected', async () => {
    const accessId = await newAccessId();
    const requestId = await newRequestId(accessId);
    expect(await payment(accessId, requestId, { payeeToken: 'PT-0099' })).toMatchObject(error(400, 'VALIDATION_ERROR'));
    expect((await payment(accessId, requestId)).body.status).toBe('APPROVED');
  });

  it('VALIDATION_ERROR names the field: unknown payee, missing fields, amounts that are not positive dollars with two decimals', async () => {
    const accessId = await newAccessId();
    const refused = async (change: Record<string, unknown>, field: string) => {
      const answer = await payment(accessId, await newRequestId(accessId), change);
      expect(answer).toMatchObject(error(400, 'VALIDATION_ERROR'));
      expect((answer.body.error as { message: string }).message).toMatch(new RegExp(`^${field}\\b`));
    };
    await refused({ payeeToken: 'PT-0099' }, 'payeeToken');
    for (const field of ['payeeToken', 'description', 'referenceNumber', 'amount']) await refused({ [field]: undefined }, field);
    await refused({ description: '' }, 'description');
    for (const amount of ['0.00', '12.5', '12', '12.505', '-1.00', '1e3', '1,000.00', '$5.00', '', 12.5]) await refused({ amount }, 'amount');
    expect((await payment(accessId, await newRequestId(accessId), { amount: '0.01' })).body.status).toBe('APPROVED');
    expect(sandbox.transactions().map((t) => t.amountCents)).toEqual([1]);
  });
});

describe('the wire', () => {
  it('takes POST only, JSON only, known paths only, answering in the error shape', async () => {
    const notPost = await post('access-id/current', undefined, { method: 'GET' });
    expect(notPost).toMatchObject(error(405, 'METHOD_NOT_ALLOWED'));
    expect(notPost.headers.get('allow')).toBe('POST');
    expect(await post('refund', {})).toMatchObject(error(404, 'NOT_FOUND'));
    expect(await post('access-id/current', new URLSearchParams(CREDENTIALS).toString(), { contentType: 'application/x-www-form-urlencoded' })).toMatchObject(
      error(400, 'VALIDATION_ERROR'),
    );
    expect(await post('access-id/current', '{"integratorKey":', {})).toMatchObject(error(400, 'VALIDATION_ERROR'));
    expect(await post('access-id/current', '[1]', {})).toMatchObject(error(400, 'VALIDATION_ERROR'));
  });

  it('answers the retryable fault with 503 SERVICE_UNAVAILABLE and Retry-After, applying nothing', async () => {
    const accessId = await newAccessId();
    const requestId = await newRequestId(accessId);
    sandbox.setFaults([{ kind: 'retryable', retryAfterSeconds: 7 }]);
    const answer = await payment(accessId, requestId);
    expect(answer).toMatchObject(error(503, 'SERVICE_UNAVAILABLE'));
    expect(answer.headers.get('retry-after')).toBe('7');
    sandbox.setFaults([]);
    expect((await payment(accessId, requestId)).body.status).toBe('APPROVED');
    expect(sandbox.transactions()).toHaveLength(1);
  });

  it('fault rules match payment fields, which never include the accessId or credentials', async () => {
    const accessId = await newAccessId();
    sandbox.setFaults([{ kind: 'server-error', match: { payeeToken: 'PT-0002' } }, { kind: 'server-error', match: { accessId } }]);
    expect((await payment(accessId, await newRequestId(accessId))).status).toBe(200);
    expect((await payment(accessId, await newRequestId(accessId), { payeeToken: 'PT-0002' })).status).toBe(500);
  });

  it('counts every request against the account its accessId names, an expired one included', async () => {
    const expired = await newAccessId();
    const current = await newAccessId();
    sandbox.setRateLimit({ max: 2, perMs: 60_000 });
    expect((await post('access-id/validate', { accessId: expired })).status).toBe(200);
    expect((await post('request-id', { accessId: expired })).status).toBe(401);
    expect(await post('request-id', { accessId: current })).toMatchObject({ status: 429, headers: expect.anything() });
    expect(await post('access-id/current', CREDENTIALS)).toMatchObject({ status: 429 });
    expect((await post('access-id/validate', { accessId: 'unknown' })).status).toBe(200);
    expect(sandbox.requests().map((r) => [r.path, r.account, r.status])).toEqual([
      ['/v2/access-id/new', 'sandbox', 200],
      ['/v2/access-id/new', 'sandbox', 200],
      ['/v2/access-id/validate', 'sandbox', 200],
      ['/v2/request-id', 'sandbox', 401],
      ['/v2/request-id', 'sandbox', 429],
      ['/v2/access-id/current', 'sandbox', 429],
      ['/v2/access-id/validate', undefined, 200],
    ]);
  });

  it('keeps credentials and accessIds out of state, transactions and the request log', async () => {
    const accessId = await newAccessId();
    await payment(accessId, await newRequestId(accessId));
    const seen = JSON.stringify([sandbox.state(), sandbox.transactions(), sandbox.requests()]);
    // As JSON strings: the pin's digits may well turn up inside a timestamp.
    for (const secret of [accessId, ...Object.values(CREDENTIALS)]) expect(seen).not.toContain(JSON.stringify(secret));
  });
});
