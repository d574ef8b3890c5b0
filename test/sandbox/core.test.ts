import { Agent, request as httpRequest } from 'node:http';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startSandbox, type RunningSandbox } from '../../src/sandbox/index.js';

/**
 * The provider-independent machinery (rate limit, faults, admin routes, server), driven through the
 * CT Payer sandbox with two accounts of its own so per-account behaviour shows.
 */

const card = (cardId: string) => ({ cardId, participantId: `P-${cardId}`, status: 'ACTIVE' as const, balanceCents: 0 });
const SEED = {
  accounts: [
    { label: 'alpha', username: 'alpha', password: 'alpha-secret', fundingBalanceCents: 100_000, cards: [card('2000000001'), card('2000000002')] },
    { label: 'beta', username: 'beta', password: 'beta-secret', fundingBalanceCents: 100_000, cards: [card('3000000001')] },
  ],
};

let sandbox: RunningSandbox;
beforeAll(async () => {
  sandbox = await startSandbox('ctpayer', { port: 0, seed: SEED });
});
afterAll(() => sandbox?.close());
beforeEach(() => sandbox.reset());

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A CT Payer call with the account's credentials; every call but echo documents apiusername. */
function post(path: string, params: Record<string, string> = {}, account: 'alpha' | 'beta' = 'alpha') {
  return fetch(`${sandbox.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ username: account, password: `${account}-secret`, ...(path === '/echo.php' ? {} : { apiusername: 'tester' }), ...params }),
  });
}
const echo = (account: 'alpha' | 'beta' = 'alpha') => post('/echo.php', {}, account);
const load = (cardId: string, amount = '10.00', extra: Record<string, string> = {}) => post('/loadcard.php', { cardId, amount, description: 'Visit 1', ...extra });

interface CardState { cardId: string; balanceCents: number }
interface AccountState { label: string; fundingBalanceCents: number; cards: CardState[] }
const accountState = (label: string) => (sandbox.state() as { accounts: AccountState[] }).accounts.find((a) => a.label === label)!;
const cardBalance = (cardId: string) => accountState('alpha').cards.find((c) => c.cardId === cardId)!.balanceCents;

/** The most admitted arrivals in any window [t, t + perMs) starting at an arrival. */
function busiestWindow(perMs: number, account = 'alpha'): number {
  const times = sandbox.requests().filter((r) => r.status === 200 && r.account === account).map((r) => r.at);
  return Math.max(0, ...times.map((t) => times.filter((u) => u >= t && u < t + perMs).length));
}

describe('rate limit (sliding-window log per account)', () => {
  it('admits at most max per sliding window, not per fixed window, and refused requests do not count', async () => {
    sandbox.setRateLimit({ max: 5, perMs: 1000 });
    const start = Date.now();
    expect((await Promise.all([echo(), echo(), echo()])).map((r) => r.status)).toEqual([200, 200, 200]);
    await sleep(500 - (Date.now() - start));
    expect((await Promise.all([echo(), echo()])).map((r) => r.status)).toEqual([200, 200]);

    const refused = await echo();
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(await refused.json()).toMatchObject({ retryAfterSeconds: 1 });
    // Another account has a window of its own.
    expect((await echo('beta')).status).toBe(200);

    // A fixed one-second window would start afresh here and admit all five; the two requests of
    // ~800 ms ago still fill the sliding window, and the refused one above takes no slot.
    await sleep(1300 - (Date.now() - start));
    const statuses = (await Promise.all([echo(), echo(), echo(), echo(), echo()])).map((r) => r.status).sort();
    expect(statuses).toEqual([200, 200, 200, 429, 429]);

    expect(sandbox.requests().filter((r) => r.status === 429)).toHaveLength(3);
    expect(busiestWindow(1000)).toBe(5);
  });

  it('never admits more than max in any window under a steady stream, and says when to come back', async () => {
    sandbox.setRateLimit({ max: 5, perMs: 1000 });
    const answers: Promise<Response>[] = [];
    for (let i = 0; i < 36; i += 1) {
      answers.push(echo());
      await sleep(40);
    }
    const responses = await Promise.all(answers);
    const refused = responses.filter((r) => r.status === 429);
    expect(refused.length).toBeGreaterThan(20);
    for (const r of refused) expect(Number(r.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(busiestWindow(1000)).toBe(5);
    expect(sandbox.requests().filter((r) => r.status === 200)).toHaveLength(responses.length - refused.length);
  });

  it('rounds Retry-After up to whole seconds', async () => {
    sandbox.setRateLimit({ max: 1, perMs: 2500 });
    expect((await echo()).status).toBe(200);
    expect((await echo()).headers.get('retry-after')).toBe('3');
  });

  it('is checked before faults: a refused request does not use up a fault rule', async () => {
    sandbox.setRateLimit({ max: 1, perMs: 60_000 });
    sandbox.setFaults([{ kind: 'server-error', times: 1, paths: ['/echo.php'] }]);
    expect((await echo()).status).toBe(500);
    expect((await echo()).status).toBe(429);
    sandbox.setRateLimit(null);
    expect((await echo()).status).toBe(200);
  });
});

describe('faults', () => {
  it('drop-before: the connection is cut and nothing is applied', async () => {
    sandbox.setFaults([{ kind: 'drop-before' }]);
    await expect(load('2000000001', '10.00', { internalPaymentId: 'p-1' })).rejects.toThrow();
    expect(sandbox.transactions()).toEqual([]);
    expect(cardBalance('2000000001')).toBe(0);
    expect(accountState('alpha').fundingBalanceCents).toBe(100_000);
    expect(sandbox.requests()).toEqual([{ at: expect.any(Number), path: '/loadcard.php', account: 'alpha', status: 0 }]);
  });

  it('drop-after: the payment is applied in full, then the connection is cut', async () => {
    sandbox.setFaults([{ kind: 'drop-after' }]);
    await expect(load('2000000001', '10.00', { internalPaymentId: 'p-1' })).rejects.toThrow();
    expect(sandbox.transactions()).toMatchObject([{ kind: 'load', account: 'alpha', payee: '2000000001', amountCents: 1000, key: 'p-1' }]);
    expect(cardBalance('2000000001')).toBe(1000);
    expect(accountState('alpha').fundingBalanceCents).toBe(99_000);
    expect(sandbox.requests().map((r) => r.status)).toEqual([0]);
  });

  it('code: the provider\'s error answer carrying the code, applying nothing, or first applying it when applied', async () => {
    sandbox.setFaults([{ kind: 'code', code: 'NEVER_DOCUMENTED', times: 1 }, { kind: 'code', code: 'NEVER_DOCUMENTED', applied: true, times: 1 }]);
    const first = await load('2000000001', '10.00', { internalPaymentId: 'p-1' });
    expect([first.status, await first.json()]).toEqual([200, { status: 'error', errorCode: 'NEVER_DOCUMENTED', message: expect.any(String) }]);
    expect(sandbox.transactions()).toEqual([]);
    const second = await load('2000000001', '10.00', { internalPaymentId: 'p-2' });
    expect(await second.json()).toMatchObject({ status: 'error', errorCode: 'NEVER_DOCUMENTED' });
    expect(sandbox.transactions()).toMatchObject([{ kind: 'load', payee: '2000000001', amountCents: 1000, key: 'p-2' }]);
    expect(() => sandbox.setFaults([{ kind: 'code' }])).toThrow(/code/);
  });

  it('answers throttle, retryable, unavailable, server-error and garbage without applying anything', async () => {
    sandbox.setFaults([
      { kind: 'throttle', times: 1, retryAfterSeconds: 7 },
      { kind: 'retryable', times: 1, retryAfterSeconds: 4 },
      { kind: 'unavailable', times: 1, retryAfterSeconds: 5 },
      { kind: 'server-error', times: 1 },
      { kind: 'garbage', times: 1 },
    ]);
    const throttled = await load('2000000001');
    expect([throttled.status, throttled.headers.get('retry-after')]).toEqual([429, '7']);
    const unavailable = await load('2000000001');
    expect([unavailable.status, unavailable.headers.get('retry-after')]).toEqual([503, '4']);
    const down = await load('2000000001');
    expect([down.status, down.headers.get('retry-after')]).toEqual([503, '5']);
    const failed = await load('2000000001');
    expect(failed.status).toBe(500);
    const failedText = await failed.text();
    expect(() => JSON.parse(failedText)).toThrow();
    const garbage = await load('2000000001');
    expect(garbage.status).toBe(200);
    const garbageText = await garbage.text();
    expect(() => JSON.parse(garbageText)).toThrow();
    expect(sandbox.transactions()).toEqual([]);
    // Every rule is spent: the sixth load goes through.
    expect((await load('2000000001')).status).toBe(200);
    expect(sandbox.transactions()).toHaveLength(1);
  });

  it('matches on fields, targets payments unless paths are given, and honours times and rate', async () => {
    sandbox.setFaults([
      { kind: 'server-error', match: { cardId: '2000000002' } },
      { kind: 'garbage', rate: 0 },
    ]);
    expect((await load('2000000001')).status).toBe(200);
    expect((await load('2000000002')).status).toBe(500);
    expect((await load('2000000002')).status).toBe(500);
    expect((await echo()).status).toBe(200);

    sandbox.setFaults([{ kind: 'throttle', paths: ['/echo.php'], times: 2 }]);
    expect((await echo()).status).toBe(429);
    expect((await load('2000000001')).status).toBe(200);
    expect((await echo()).status).toBe(429);
    expect((await echo()).status).toBe(200);
  });

  it('latency delays the answer and the other rules still apply', async () => {
    sandbox.setFaults([{ kind: 'latency', latencyMs: 300, times: 1 }, { kind: 'server-error', times: 1 }]);
    const started = Date.now();
    expect((await load('2000000001')).status).toBe(500);
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    const again = Date.now();
    expect((await load('2000000001')).status).toBe(200);
    expect(Date.now() - again).toBeLessThan(250);
  });
});

describe('admin routes', () => {
  const admin = (method: string, route: string, body?: unknown) =>
    fetch(`${sandbox.url}/__sandbox/${route}`, { method, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });

  it('show transactions, requests and state, none of them logged as requests or holding a password', async () => {
    await load('2000000001', '12.50', { internalPaymentId: 'p-1' });
    const transactions = await (await admin('GET', 'transactions')).json();
    expect(transactions).toEqual(sandbox.transactions());
    expect(transactions).toMatchObject([{ id: expect.any(String), kind: 'load', account: 'alpha', payee: '2000000001', amountCents: 1250, key: 'p-1', description: 'Visit 1' }]);
    const requests = await (await admin('GET', 'requests')).json();
    expect(requests).toEqual([{ at: expect.any(Number), path: '/loadcard.php', account: 'alpha', status: 200 }]);
    const state = await (await admin('GET', 'state')).json();
    expect(state).toEqual(sandbox.state());
    expect(JSON.stringify([transactions, requests, state])).not.toMatch(/secret/);
    expect(sandbox.requests()).toHaveLength(1);
  });

  it('set faults and the rate limit, refusing bad ones with 400 and a message', async () => {
    expect((await admin('PUT', 'faults', [{ kind: 'throttle', times: 1, retryAfterSeconds: 2 }])).status).toBe(200);
    expect((await load('2000000001')).headers.get('retry-after')).toBe('2');

    const bad = await admin('PUT', 'faults', [{ kind: 'explode' }]);
    expect(bad.status).toBe(400);
    expect((await bad.json()).error).toMatch(/kind/);
    const noDelay = await admin('PUT', 'faults', [{ kind: 'latency' }]);
    expect([noDelay.status, (await noDelay.json()).error]).toEqual([400, expect.stringMatching(/latencyMs/)]);
    expect((await admin('PUT', 'faults', 'not json')).status).toBe(400);
    expect(() => sandbox.setFaults([{ kind: 'drop-after', rate: 2 }])).toThrow();

    expect((await admin('PUT', 'rate-limit', { max: 1, perMs: 60_000 })).status).toBe(200);
    expect((await echo()).status).toBe(200);
    expect((await echo()).status).toBe(429);
    expect((await admin('PUT', 'rate-limit', { max: 0, perMs: 10 })).status).toBe(400);
    expect((await admin('PUT', 'rate-limit', null)).status).toBe(200);
    expect((await echo()).status).toBe(200);
  });

  it('reset goes back to the seed and to the faults the sandbox started with', async () => {
    const withFaults = await startSandbox('ctpayer', { port: 0, seed: SEED, faults: [{ kind: 'server-error', paths: ['/echo.php'] }] });
    try {
      const post = (path: string, params: Record<string, string>) =>
        fetch(`${withFaults.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ username: 'alpha', password: 'alpha-secret', ...(path === '/echo.php' ? {} : { apiusername: 't' }), ...params }) });
      await post('/loadcard.php', { cardId: '2000000001', amount: '5.00', description: 'x' });
      withFaults.setFaults([]);
      expect((await post('/echo.php', {})).status).toBe(200);
      expect((await fetch(`${withFaults.url}/__sandbox/reset`, { method: 'POST' })).status).toBe(200);
      expect(withFaults.transactions()).toEqual([]);
      expect(withFaults.requests()).toEqual([]);
      expect((withFaults.state() as { accounts: AccountState[] }).accounts[0]!.fundingBalanceCents).toBe(100_000);
      expect((await post('/echo.php', {})).status).toBe(500);
    } finally {
      await withFaults.close();
    }
  });

  it('reset is not undone by a request that was in flight across it', async () => {
    sandbox.setFaults([{ kind: 'latency', latencyMs: 200 }]);
    const inFlight = load('2000000001');
    await sleep(50);
    sandbox.reset();
    expect((await inFlight).status).toBe(200);
    expect(sandbox.transactions()).toEqual([]);
    expect(sandbox.requests()).toEqual([]);
    expect(cardBalance('2000000001')).toBe(0);
  });

  it('answer 404 for an unknown admin route', async () => {
    expect((await admin('GET', 'nothing')).status).toBe(404);
    expect((await admin('DELETE', 'transactions')).status).toBe(404);
  });
});

describe('server', () => {
  it('keeps idle sockets for 65 s, so a client reusing one never meets a closed socket', async () => {
    expect((await echo()).headers.get('keep-alive')).toBe('timeout=65');
  });

  it('refuses bodies over 1 MB with 413 and logs it', async () => {
    const response = await post('/echo.php', { padding: 'x'.repeat(1024 * 1024) });
    expect(response.status).toBe(413);
    expect(sandbox.requests()).toEqual([{ at: expect.any(Number), path: '/echo.php', status: 413 }]);
    expect((await echo()).status).toBe(200);
  });

  it('answers 404 for unknown paths and 405 for other methods, logged', async () => {
    expect((await post('/nothing.php')).status).toBe(404);
    expect((await fetch(`${sandbox.url}/loadcard.php`)).status).toBe(405);
    expect(sandbox.requests().map((r) => [r.path, r.status])).toEqual([['/nothing.php', 404], ['/loadcard.php', 405]]);
  });

  it('closes at once even with an idle keep-alive socket open', async () => {
    const other = await startSandbox('ctpayer', { port: 0, seed: SEED });
    await new Promise<void>((resolve, reject) => {
      const agent = new Agent({ keepAlive: true });
      const req = httpRequest(`${other.url}/__sandbox/state`, { agent }, (res) => {
        res.resume();
        res.on('end', () => resolve());
      });
      req.on('error', reject);
      req.end();
    });
    const started = Date.now();
    await other.close();
    expect(Date.now() - started).toBeLessThan(500);
  });
});
