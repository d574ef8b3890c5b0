import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { fixturePath } from '../../src/package-root.js';
import { startSandbox, type RunningSandbox } from '../../src/sandbox/index.js';

/** The PT API sandbox on the wire, as its API documentation and docs/providers.md ("PT API") describe it. */

// The default seed plus a user of the other parent (P900), so the hierarchy shows from both sides.
const OTHER = { username: 'other', password: 'other-password' };

let sandbox: RunningSandbox;
beforeAll(async () => {
  const seed = JSON.parse(await readFile(fixturePath('ptapi', 'sandbox.json'), 'utf8'));
  seed.users.push({ label: 'other', ...OTHER, parentId: 'P900' });
  sandbox = await startSandbox('ptapi', { port: 0, seed });
});
afterAll(() => sandbox?.close());
beforeEach(() => sandbox.reset());

interface Reply {
  status: number;
  headers: Headers;
  body: Record<string, unknown> | undefined;
}

async function call(method: 'GET' | 'POST', path: string, options: { token?: string; body?: unknown } = {}): Promise<Reply> {
  const response = await fetch(`${sandbox.url}${path}`, {
    method,
    headers: { 'content-type': 'application/json', ...(options.token === undefined ? {} : { authorization: `Bearer ${options.token}` }) },
    ...(options.body === undefined ? {} : { body: typeof options.body === 'string' ? options.body : JSON.stringify(options.body) }),
  });
  const isJson = response.headers.get('content-type') === 'application/json';
  return { status: response.status, headers: response.headers, body: isJson ? ((await response.json()) as Record<string, unknown>) : undefined };
}

async function logIn(credentials = { username: 'sandbox', password: 'sandbox-password' }): Promise<string> {
  const answer = await call('POST', '/users/login', { body: credentials });
  expect(answer.status).toBe(200);
  return answer.body!.token as string;
}

const LOAD = { amount: 1250, customerId: 'C200', programId: 'PR300', description: 'Visit 1 stipend', externalId: 'pay-1' };
const load = (token: string, change: Record<string, unknown> = {}, cardholderId = 'CH0001') =>
  call('POST', `/cardholders/${cardholderId}/loads`, { token, body: { ...LOAD, ...change } });
const error = (status: number, code: string) => ({ status, body: { error: { code, message: expect.any(String) } } });
const masterFunds = (parentId = 'P100') => (sandbox.state() as { parents: { parentId: string; masterFundsCents: number }[] }).parents.find((p) => p.parentId === parentId)!.masterFundsCents;

describe('seed', () => {
  it('holds the fixture: $50,000.00 master funds, CH0001–CH0020 active, CH0021 suspended, CH0022 closed', async () => {
    const token = await logIn();
    expect((await call('GET', '/master-funds', { token })).body).toEqual({ balance: 5_000_000 });
    expect((await call('GET', '/cardholders/CH0020', { token })).body).toEqual({ cardholderId: 'CH0020', customerId: 'C200', status: 'ACTIVE', balance: 0 });
    expect((await call('GET', '/cardholders/CH0021', { token })).body).toMatchObject({ status: 'SUSPENDED' });
    expect((await call('GET', '/cardholders/CH0022', { token })).body).toMatchObject({ status: 'CLOSED' });
  });

  it('shows a cardholder outside the user\'s hierarchy as 403 FORBIDDEN, an unknown one as 404 NOT_FOUND', async () => {
    const token = await logIn();
    expect(await call('GET', '/cardholders/CH0900', { token })).toMatchObject(error(403, 'FORBIDDEN'));
    expect(await call('GET', '/cardholders/CH0023', { token })).toMatchObject(error(404, 'NOT_FOUND'));
    // The other parent's user sees it the other way round.
    const other = await logIn(OTHER);
    expect((await call('GET', '/cardholders/CH0900', { token: other })).body).toMatchObject({ cardholderId: 'CH0900', customerId: 'C900' });
    expect(await call('GET', '/cardholders/CH0001', { token: other })).toMatchObject(error(403, 'FORBIDDEN'));
  });
});

describe('users: login and logout', () => {
  it('logs in with username and password for a token and its lifetime; each login is in requests()', async () => {
    const answer = await call('POST', '/users/login', { body: { username: 'sandbox', password: 'sandbox-password' } });
    expect(answer).toMatchObject({ status: 200, body: { token: expect.stringMatching(/^[0-9a-f]{48}$/), expiresIn: 3600 } });
    expect(sandbox.requests()).toEqual([{ at: expect.any(Number), path: '/users/login', account: 'sandbox', status: 200 }]);
  });

  it('answers 401 UNAUTHORIZED for a wrong password or unknown user, 400 VALIDATION_ERROR for a body without both', async () => {
    expect(await call('POST', '/users/login', { body: { username: 'sandbox', password: 'wrong' } })).toMatchObject(error(401, 'UNAUTHORIZED'));
    expect(await call('POST', '/users/login', { body: { username: 'nobody', password: 'sandbox-password' } })).toMatchObject(error(401, 'UNAUTHORIZED'));
    const missing = await call('POST', '/users/login', { body: { username: 'sandbox' } });
    expect(missing).toMatchObject(error(400, 'VALIDATION_ERROR'));
    expect((missing.body!.error as { message: string }).message).toMatch(/^password /);
    expect(await call('POST', '/users/login', { body: '{not json' })).toMatchObject(error(400, 'VALIDATION_ERROR'));
  });

  it('refuses every route without a live token: missing, unknown, logged out', async () => {
    const routes = [
      ['GET', '/master-funds'],
      ['GET', '/cardholders/CH0001'],
      ['POST', '/cardholders/CH0001/loads'],
      ['GET', '/loads'],
      ['POST', '/users/logout'],
    ] as const;
    const token = await logIn();
    expect(await call('POST', '/users/logout', { token })).toEqual({ status: 204, headers: expect.anything(), body: undefined });
    for (const [method, path] of routes) {
      for (const refused of [undefined, 'not-a-token', token]) {
        const body = method === 'POST' ? { body: LOAD } : {};
        expect(await call(method, path, { token: refused, ...body })).toMatchObject(error(401, 'UNAUTHORIZED'));
      }
    }
    expect(sandbox.transactions()).toEqual([]);
  });

  it('lets a token expire after tokenTtlSeconds', async () => {
    const seed = JSON.parse(await readFile(fixturePath('ptapi', 'sandbox.json'), 'utf8'));
    const shortLived = await startSandbox('ptapi', { port: 0, seed: { ...seed, tokenTtlSeconds: 1 } });
    try {
      const login = await fetch(`${shortLived.url}/users/login`, { method: 'POST', body: JSON.stringify({ username: 'sandbox', password: 'sandbox-password' }) });
      const { token, expiresIn } = (await login.json()) as { token: string; expiresIn: number };
      expect(expiresIn).toBe(1);
      const funds = () => fetch(`${shortLived.url}/master-funds`, { headers: { authorization: `Bearer ${token}` } }).then((r) => r.status);
      expect(await funds()).toBe(200);
      await new Promise((resolve) => setTimeout(resolve, 1100));
      expect(await funds()).toBe(401);
    } finally {
      await shortLived.close();
    }
  });

  it('never shows a password or token in requests(), transactions() or state()', async () => {
    const token = await logIn();
    await load(token);
    expect(JSON.stringify([sandbox.requests(), sandbox.transactions(), sandbox.state()])).not.toMatch(new RegExp(`${token}|sandbox-password`));
    expect((sandbox.state() as { users: unknown[] }).users).toEqual([
      { label: 'sandbox', parentId: 'P100', liveTokens: 1 },
      { label: 'other', parentId: 'P900', liveTokens: 0 },
    ]);
  });
});

describe('loads', () => {
  it('moves the amount from the master funds to the cardholder and records the load', async () => {
    const token = await logIn();
    const answer = await load(token);
    expect(answer).toMatchObject({
      status: 201,
      body: { loadId: expect.stringMatching(/^LD\d{8}$/), cardholderId: 'CH0001', amount: 1250, balance: 1250, externalId: 'pay-1', createdAt: expect.any(String) },
    });
    expect(sandbox.transactions()).toEqual([
      { id: answer.body!.loadId, kind: 'load', account: 'sandbox', payee: 'CH0001', amountCents: 1250, key: 'pay-1', description: 'Visit 1 stipend', at: answer.body!.createdAt },
    ]);
    expect((await call('GET', '/master-funds', { token })).body).toEqual({ balance: 5_000_000 - 1250 });
    expect((await call('GET', '/cardholders/CH0001', { token })).body).toMatchObject({ balance: 1250 });
  });

  it('is not idempotent: the same load sent twice applies twice, with one externalId', async () => {
    const token = await logIn();
    const first = await load(token);
    const second = await load(token);
    expect(second.body).toMatchObject({ balance: 2500, externalId: 'pay-1' });
    expect(second.body!.loadId).not.toBe(first.body!.loadId);
    expect(masterFunds()).toBe(5_000_000 - 2500);
  });

  it('answers 400 VALIDATION_ERROR naming the field for a malformed body', async () => {
    const token = await logIn();
    const cases: [string, Record<string, unknown>][] = [
      ['amount', { amount: 0 }],
      ['amount', { amount: -5 }],
      ['amount', { amount: 12.5 }],
      ['amount', { amount: '1250' }],
      ['amount', { amount: undefined }],
      ['customerId', { customerId: '' }],
      ['programId', { programId: undefined }],
      ['description', { description: 7 }],
      ['externalId', { externalId: null }],
    ];
    for (const [field, change] of cases) {
      const answer = await load(token, change);
      expect(answer).toMatchObject(error(400, 'VALIDATION_ERROR'));
      expect((answer.body!.error as { message: string }).message).toMatch(new RegExp(`^${field} `));
    }
    expect(await call('POST', '/cardholders/CH0001/loads', { token, body: '{not json' })).toMatchObject(error(400, 'VALIDATION_ERROR'));
    expect((await load(token, { description: undefined, externalId: undefined })).status).toBe(201);
    expect(sandbox.transactions()).toHaveLength(1);
  });

  it('checks the cardholder, the hierarchy, the cardholder\'s customer and program, its status, then the funds', async () => {
    const token = await logIn();
    expect(await load(token, {}, 'CH0099')).toMatchObject(error(404, 'NOT_FOUND'));
    expect(await load(token, { customerId: 'C900', programId: 'PR900' }, 'CH0900')).toMatchObject(error(403, 'FORBIDDEN'));
    expect(await load(token, { customerId: 'C900' })).toMatchObject(error(403, 'FORBIDDEN'));
    expect(await load(token, { customerId: 'C999' })).toMatchObject(error(403, 'FORBIDDEN'));
    expect(await load(token, { programId: 'PR900' })).toMatchObject(error(403, 'FORBIDDEN'));
    expect(await load(token, { customerId: 'C201' })).toMatchObject(error(400, 'VALIDATION_ERROR'));
    expect(await load(token, { programId: 'PR301' })).toMatchObject(error(400, 'VALIDATION_ERROR'));
    expect(await load(token, {}, 'CH0021')).toMatchObject(error(400, 'CARDHOLDER_INACTIVE'));
    expect(await load(token, {}, 'CH0022')).toMatchObject(error(400, 'CARDHOLDER_INACTIVE'));
    expect(await load(token, { amount: 5_000_001 })).toMatchObject(error(400, 'INSUFFICIENT_FUNDS'));
    expect(sandbox.transactions()).toEqual([]);
    expect((await load(token, { amount: 5_000_000 })).status).toBe(201);
    expect(await load(token, { amount: 1 }, 'CH0002')).toMatchObject(error(400, 'INSUFFICIENT_FUNDS'));
    expect(masterFunds()).toBe(0);
  });

  it('funds a load from the master funds of the user\'s own parent', async () => {
    const other = await logIn(OTHER);
    expect((await load(other, { customerId: 'C900', programId: 'PR900' }, 'CH0900')).status).toBe(201);
    expect([masterFunds('P100'), masterFunds('P900')]).toEqual([5_000_000, 1_000_000 - 1250]);
    expect(sandbox.transactions()[0]).toMatchObject({ account: 'other', payee: 'CH0900' });
  });
});

describe('GET /loads', () => {
  it('lists the loads under the user\'s parent, oldest first, each as the 201 answer showed it', async () => {
    const token = await logIn();
    const first = await load(token, { externalId: 'pay-1' });
    const second = await load(token, { externalId: 'pay-2' }, 'CH0002');
    await load(await logIn(OTHER), { customerId: 'C900', programId: 'PR900', externalId: 'pay-1' }, 'CH0900');
    expect(await call('GET', '/loads', { token })).toEqual({ status: 200, headers: expect.anything(), body: { items: [first.body, second.body] } });
  });

  it('finds loads by q, exactly, and refuses a field it cannot search', async () => {
    const token = await logIn();
    await load(token, { externalId: 'pay-1' });
    await load(token, { externalId: 'pay-10' });
    const search = (q: string) => call('GET', `/loads?${new URLSearchParams({ q })}`, { token });
    const ids = async (q: string) => ((await search(q)).body!.items as { externalId: string }[]).map((l) => l.externalId);
    expect(await ids('externalId:pay-1')).toEqual(['pay-1']);
    expect(await ids('externalId:pay-404')).toEqual([]);
    expect(await ids('externalId:pay-10 AND cardholderId:CH0001')).toEqual(['pay-10']);
    expect(await search('nickname:joe')).toMatchObject(error(400, 'VALIDATION_ERROR'));
  });
});

describe('routes and faults', () => {
  it('answers an unknown path 404 NOT_FOUND and a wrong method 405', async () => {
    const token = await logIn();
    expect(await call('GET', '/cards', { token })).toMatchObject(error(404, 'NOT_FOUND'));
    expect(await call('GET', '/cardholders/CH0001/loads/extra', { token })).toMatchObject(error(404, 'NOT_FOUND'));
    const wrong = await call('GET', '/cardholders/CH0001/loads', { token });
    expect([wrong.status, wrong.headers.get('allow')]).toEqual([405, 'POST']);
  });

  it('retryable is HTTP 503 with Retry-After and nothing applied', async () => {
    const token = await logIn();
    sandbox.setFaults([{ kind: 'retryable', retryAfterSeconds: 7, times: 1 }]);
    const answer = await load(token);
    expect([answer.status, answer.headers.get('retry-after')]).toEqual([503, '7']);
    expect(sandbox.transactions()).toEqual([]);
    expect((await load(token)).status).toBe(201);
  });

  it('targets loads by default and can match the cardholder or name other paths', async () => {
    sandbox.setFaults([{ kind: 'server-error', match: { cardholderId: 'CH0003' } }]);
    const token = await logIn();
    expect((await load(token)).status).toBe(201);
    expect((await load(token, {}, 'CH0003')).status).toBe(500);
    expect((await call('GET', '/cardholders/CH0003', { token })).status).toBe(200);

    sandbox.setFaults([{ kind: 'throttle', paths: ['/users/login'] }]);
    expect((await call('POST', '/users/login', { body: { username: 'sandbox', password: 'sandbox-password' } })).status).toBe(429);
    expect((await call('GET', '/master-funds', { token })).status).toBe(200);
  });
});
