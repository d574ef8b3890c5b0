import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { fixturePath } from '../../src/package-root.js';
import type { HttpRequest } from '../../src/providers/http.js';
import { type PtApiClient, type PtApiCredentials, type PtApiFields, ptapi } from '../../src/providers/ptapi.js';
import { startSandbox, type RunningSandbox } from '../../src/sandbox/index.js';
import { clientContexts } from '../helpers/client-context.js';
import { itTreatsLostAnswersAsUnknown } from '../helpers/contract-cases.js';

/** The real PT API adapter against the PT API sandbox over HTTP: every outcome, the lookup and the login session. */

const CREDENTIALS: PtApiCredentials = { username: 'sandbox', password: 'sandbox-password' };

let sandbox: RunningSandbox;
let seed: Record<string, unknown>;
let client: PtApiClient;
const contexts = clientContexts();
beforeAll(async () => {
  seed = JSON.parse(await readFile(fixturePath('ptapi', 'sandbox.json'), 'utf8'));
  sandbox = await startSandbox('ptapi', { port: 0 });
});
afterAll(async () => {
  await sandbox?.close();
  await contexts.cleanup();
});
// A reset forgets every session, so each test starts with a client that holds no token either.
beforeEach(() => {
  sandbox.reset();
  client = clientOf(sandbox);
});

/** A client whose HTTP requests are also kept in `sent`, to see what went over the wire. */
function clientOf(target: RunningSandbox, options: { credentials?: PtApiCredentials; timeoutMs?: number; sent?: HttpRequest[] } = {}): PtApiClient {
  const context = contexts.context(target.url, options.credentials ?? CREDENTIALS, options);
  const send = (request: HttpRequest) => {
    options.sent?.push(request);
    return context.send(request);
  };
  return ptapi.createClient({ ...context, send });
}

/** A sandbox of its own whose tokens live `tokenTtlSeconds`, closed after `run`. */
async function withTokenTtl(tokenTtlSeconds: number, run: (target: RunningSandbox) => Promise<void>): Promise<void> {
  const target = await startSandbox('ptapi', { port: 0, seed: { ...seed, tokenTtlSeconds } });
  try {
    await run(target);
  } finally {
    await target.close();
  }
}

let sequence = 0;
function pay(fields: Partial<PtApiFields> = {}, options: { amountCents?: number; paymentId?: string; client?: PtApiClient } = {}) {
  sequence += 1;
  const paymentId = options.paymentId ?? `pay-${sequence}`;
  return (options.client ?? client).pay(instruction(paymentId, fields, options.amountCents));
}
function instruction(paymentId: string, fields: Partial<PtApiFields> = {}, amountCents = 1250) {
  return { paymentId, idempotencyKey: paymentId, amountCents, fields: { cardholderId: 'CH0001', customerId: 'C200', programId: 'PR300', description: 'Visit 1 stipend', ...fields } };
}
const cardholderBalance = (id: string, target = sandbox) => (target.state() as { cardholders: { cardholderId: string; balanceCents: number }[] }).cardholders.find((c) => c.cardholderId === id)!.balanceCents;
const paths = (target = sandbox) => target.requests().map((r) => `${r.status} ${r.path}`);
const logins = (target = sandbox) => target.requests().filter((r) => r.path === '/users/login').length;
/** The bearer token the client sent, so a test can show where it does not go. */
const bearer = (sent: HttpRequest[]) => sent.map((r) => /^Bearer (.+)$/.exec(r.headers.authorization ?? '')?.[1]).find((token) => token !== undefined)!;
const range = (n: number) => Array.from({ length: n }, (_, i) => i + 1);
const cardholder = (n: number) => `CH${String(n).padStart(4, '0')}`;

describe('paid', () => {
  it('is paid with the loadId, the cardholder up and the master funds down by exactly the amount', async () => {
    const outcome = await pay({ cardholderId: 'CH0004' }, { amountCents: 1999, paymentId: 'paid-1' });
    const [applied] = sandbox.transactions();
    expect(outcome).toEqual({ kind: 'paid', reference: applied!.id, code: 'CREATED', message: '' });
    expect(applied).toMatchObject({ kind: 'load', account: 'sandbox', payee: 'CH0004', amountCents: 1999, key: 'paid-1', description: 'Visit 1 stipend' });
    expect(cardholderBalance('CH0004')).toBe(1999);
    expect(await client.fundingBalanceCents()).toBe(5_000_000 - 1999);
  });

  it('pays again when sent again: PT API has no idempotency key', async () => {
    await pay({}, { paymentId: 'twice' });
    await pay({}, { paymentId: 'twice' });
    expect(sandbox.transactions().map((t) => t.key)).toEqual(['twice', 'twice']);
    expect(cardholderBalance('CH0001')).toBe(2500);
  });
});

describe('declined (nothing moved)', () => {
  it.each([
    ['VALIDATION_ERROR', 'an amount of zero', {}, 0],
    ['VALIDATION_ERROR', 'a customer that is not the cardholder\'s', { customerId: 'C201' }, 1250],
    ['INSUFFICIENT_FUNDS', 'more than the master funds hold', {}, 5_000_001],
    ['CARDHOLDER_INACTIVE', 'a suspended cardholder', { cardholderId: 'CH0021' }, 1250],
    ['CARDHOLDER_INACTIVE', 'a closed cardholder', { cardholderId: 'CH0022' }, 1250],
    ['FORBIDDEN', 'a cardholder outside the hierarchy', { cardholderId: 'CH0900', customerId: 'C900', programId: 'PR900' }, 1250],
    ['FORBIDDEN', 'a program outside the hierarchy', { programId: 'PR900' }, 1250],
    ['NOT_FOUND', 'an unknown cardholder', { cardholderId: 'CH9999' }, 1250],
  ] as const)('%s for %s', async (code, _, fields, amountCents) => {
    expect(await pay(fields, { amountCents })).toEqual({ kind: 'declined', code, message: expect.any(String) });
    expect(sandbox.transactions()).toEqual([]);
    expect(await client.fundingBalanceCents()).toBe(5_000_000);
  });

  it('sends a cardholder id as one path segment, whatever it holds', async () => {
    expect(await pay({ cardholderId: 'CH0001/loads' })).toMatchObject({ kind: 'declined', code: 'NOT_FOUND' });
    expect(paths()).toContain('404 /cardholders/CH0001%2Floads/loads');
  });
});

describe('retryable (nothing moved)', () => {
  it('HTTP 429 from a throttle or the account rate limit is throttled with the Retry-After', async () => {
    sandbox.setFaults([{ kind: 'throttle', retryAfterSeconds: 3, times: 1 }]);
    expect(await pay()).toEqual({ kind: 'retryable', code: 'HTTP_429', message: expect.any(String), throttled: true, retryAfterMs: 3000 });
    sandbox.setRateLimit({ max: 1, perMs: 60_000 });
    expect((await pay()).kind).toBe('paid');
    expect(await pay()).toMatchObject({ kind: 'retryable', code: 'HTTP_429', throttled: true, retryAfterMs: 60_000 });
    expect(sandbox.transactions()).toHaveLength(1);
  });

  it('HTTP 503 (the retryable fault) is throttled with the Retry-After', async () => {
    sandbox.setFaults([{ kind: 'retryable', retryAfterSeconds: 2 }]);
    expect(await pay()).toEqual({ kind: 'retryable', code: 'HTTP_503', message: expect.any(String), throttled: true, retryAfterMs: 2000 });
    expect(sandbox.transactions()).toEqual([]);
  });

  it('a refused login is retryable UNAUTHORIZED, not throttled, and no load is sent', async () => {
    const outcome = await pay({}, { client: clientOf(sandbox, { credentials: { ...CREDENTIALS, password: 'wrong' } }) });
    expect(outcome).toEqual({ kind: 'retryable', code: 'UNAUTHORIZED', message: expect.any(String), throttled: false });
    expect(paths()).toEqual(['401 /users/login']);
  });

  it('a login that fails in any other way is retryable too: a login moves no money', async () => {
    sandbox.setFaults([{ kind: 'retryable', paths: ['/users/login'], times: 1, retryAfterSeconds: 4 }]);
    expect(await pay()).toMatchObject({ kind: 'retryable', code: 'HTTP_503', throttled: true, retryAfterMs: 4000 });
    for (const [kind, code] of [['server-error', 'HTTP_500'], ['drop-after', 'NO_RESPONSE'], ['garbage', 'HTTP_200_UNREADABLE']] as const) {
      sandbox.setFaults([{ kind, paths: ['/users/login'], times: 1 }]);
      expect(await pay({}, { client: clientOf(sandbox) })).toEqual({ kind: 'retryable', code, message: expect.any(String), throttled: false });
    }
    expect(sandbox.requests().filter((r) => r.path !== '/users/login')).toEqual([]);
  });
});

describe('unknown (may have moved)', () => {
  itTreatsLostAnswersAsUnknown({ sandbox: () => sandbox, pay: async () => () => pay(), moved: () => cardholderBalance('CH0001'), cents: 1250 });

  it('no answer within the timeout', async () => {
    sandbox.setFaults([{ kind: 'latency', latencyMs: 400 }]);
    expect(await pay({}, { client: clientOf(sandbox, { timeoutMs: 100 }) })).toMatchObject({ kind: 'unknown', code: 'NO_RESPONSE' });
  });
});

describe('lookup (externalId)', () => {
  it('after drop-after finds the load (reference = loadId); after drop-before finds nothing', async () => {
    await pay({ cardholderId: 'CH0005' }, { paymentId: 'lost-10' });
    sandbox.setFaults([{ kind: 'drop-after', times: 1 }]);
    expect(await pay({}, { paymentId: 'lost-1' })).toMatchObject({ kind: 'unknown', code: 'NO_RESPONSE' });
    const applied = sandbox.transactions().find((t) => t.key === 'lost-1')!;
    expect(await client.lookup(instruction('lost-1'))).toEqual({ found: true, reference: applied.id, message: expect.stringContaining(applied.id) });

    sandbox.setFaults([{ kind: 'drop-before', times: 1 }]);
    expect(await pay({}, { paymentId: 'lost-2' })).toMatchObject({ kind: 'unknown', code: 'NO_RESPONSE' });
    // Another load's externalId that starts the same is not this payment.
    expect(await client.lookup(instruction('lost-2'))).toEqual({ found: false });
    expect(await client.lookup(instruction('lost'))).toEqual({ found: false });
    expect(sandbox.transactions()).toHaveLength(2);
  });

  it('says so when the payment was applied more than once', async () => {
    await pay({}, { paymentId: 'double' });
    await pay({}, { paymentId: 'double' });
    const [first, second] = sandbox.transactions();
    const found = await client.lookup(instruction('double'));
    expect(found).toEqual({ found: true, reference: first!.id, message: expect.stringContaining('DOUBLE PAYMENT') });
    expect(found.found === true && found.message).toContain(`${first!.id}, ${second!.id}`);
  });

  it('is unknown when the search gets no usable answer, and never moves money', async () => {
    await pay({}, { paymentId: 'asked' });
    for (const [kind, outcome] of [
      ['server-error', { kind: 'unknown', code: 'HTTP_500' }],
      ['garbage', { kind: 'unknown', code: 'HTTP_200_UNREADABLE' }],
      ['throttle', { kind: 'retryable', code: 'HTTP_429', throttled: true }],
    ] as const) {
      sandbox.setFaults([{ kind, paths: ['/loads'], times: 1 }]);
      expect(await client.lookup(instruction('asked'))).toEqual({ found: 'unknown', outcome: expect.objectContaining(outcome) });
    }
    expect(sandbox.transactions()).toHaveLength(1);
  });

  it('searches GET /loads?q=externalId:<paymentId>, the value URL-encoded', async () => {
    const sent: HttpRequest[] = [];
    await clientOf(sandbox, { sent }).lookup(instruction('P-1_x'));
    expect(sent.map((r) => `${r.method} ${r.url.slice(sandbox.url.length)}`)).toEqual(['POST /users/login', 'GET /loads?q=externalId%3AP-1_x']);
  });
});

describe('the login session', () => {
  it('logs in once for all calls, and keeps the token out of Redis, outcomes and check()', async () => {
    const sent: HttpRequest[] = [];
    const fresh = clientOf(sandbox, { sent });
    const outcomes: unknown[] = await Promise.all(range(5).map((n) => pay({ cardholderId: cardholder(n) }, { client: fresh })));
    outcomes.push(await fresh.check(), await fresh.lookup(instruction('x')));
    expect(logins()).toBe(1);
    const token = bearer(sent);
    expect(JSON.stringify(outcomes)).not.toContain(token);
    const redis = contexts.redis.redis;
    const stored = await Promise.all((await redis.keys(`${contexts.redis.prefix}*`)).map((key) => redis.get(key)));
    expect(stored.join('')).not.toContain(token);
  });

  it('many concurrent pays once the token has expired: exactly one new login, every payment paid once', async () => {
    await withTokenTtl(1, async (target) => {
      const shortLived = clientOf(target);
      expect((await pay({}, { client: shortLived })).kind).toBe('paid');
      await new Promise((resolve) => setTimeout(resolve, 1100));
      const outcomes = await Promise.all(range(10).map((n) => pay({ cardholderId: cardholder(n) }, { client: shortLived, paymentId: `expired-${n}` })));
      expect(outcomes.map((o) => o.kind)).toEqual(range(10).map(() => 'paid'));
      expect(logins(target)).toBe(2);
      // Renewed before use: no load was refused.
      expect(target.requests().filter((r) => r.status === 401)).toEqual([]);
      expect(target.transactions().filter((t) => t.key?.startsWith('expired-')).map((t) => t.key).sort()).toEqual(range(10).map((n) => `expired-${n}`).sort());
    });
  });

  it('many concurrent pays whose token the server dropped: every 401 repeated once after ONE new login', async () => {
    const dropped = clientOf(sandbox);
    expect((await dropped.check()).status).toBe('ok');
    // A reset forgets every session while the client still holds a token it believes fresh.
    sandbox.reset();
    const outcomes = await Promise.all(range(10).map((n) => pay({ cardholderId: cardholder(n) }, { client: dropped, paymentId: `dropped-${n}` })));
    expect(outcomes.map((o) => o.kind)).toEqual(range(10).map(() => 'paid'));
    const counts = Object.fromEntries(['401 /cardholders', '200 /users/login', '201 /cardholders'].map((p) => [p, paths().filter((q) => q.startsWith(p)).length]));
    expect(counts).toEqual({ '401 /cardholders': 10, '200 /users/login': 1, '201 /cardholders': 10 });
    expect(sandbox.transactions()).toHaveLength(10);
  });

  it('a 401 gets exactly one new login and one repeat, never a loop', async () => {
    // Tokens that expire the moment they are issued: every call is refused, whatever the client does.
    await withTokenTtl(0, async (target) => {
      const outcome = await pay({}, { client: clientOf(target) });
      expect(outcome).toEqual({ kind: 'retryable', code: 'UNAUTHORIZED', message: expect.any(String), throttled: false });
      expect(paths(target)).toEqual(['200 /users/login', '401 /cardholders/CH0001/loads', '200 /users/login', '401 /cardholders/CH0001/loads']);
      expect(target.transactions()).toEqual([]);
    });
  });

  it('close() logs out: the token no longer works', async () => {
    const sent: HttpRequest[] = [];
    const closing = clientOf(sandbox, { sent });
    expect((await pay({}, { client: closing })).kind).toBe('paid');
    await closing.close();
    const token = bearer(sent);
    expect(paths().at(-1)).toBe('204 /users/logout');
    const refused = await fetch(`${sandbox.url}/master-funds`, { headers: { authorization: `Bearer ${token}` } });
    expect(refused.status).toBe(401);
    expect((sandbox.state() as { users: { liveTokens: number }[] }).users[0]!.liveTokens).toBe(0);
  });

  it('close() sends nothing when the client never logged in', async () => {
    await clientOf(sandbox).close();
    expect(sandbox.requests()).toEqual([]);
  });
});

describe('calls that move no money', () => {
  it('a login proves the credentials (check)', async () => {
    expect(await clientOf(sandbox).check()).toEqual({ status: 'ok', detail: expect.any(String) });
    expect(await clientOf(sandbox, { credentials: { ...CREDENTIALS, password: 'wrong' } }).check()).toEqual({ status: 'failed', detail: expect.stringContaining('UNAUTHORIZED') });
    expect(paths()).toEqual(['200 /users/login', '401 /users/login']);
  });

  it('master funds read the sandbox', async () => {
    await pay({ cardholderId: 'CH0002' }, { amountCents: 4321 });
    expect(await client.fundingBalanceCents()).toBe(5_000_000 - 4321);
    sandbox.setFaults([{ kind: 'server-error', paths: ['/master-funds'] }]);
    await expect(client.fundingBalanceCents()).rejects.toMatchObject({ name: 'PtApiError', outcome: { kind: 'unknown', code: 'HTTP_500' } });
  });
});

describe('an error code PT API never documented (the policy in contract-rules.ts)', () => {
  it('makes a load unknown, never declined; the lookup by externalId then finds it', async () => {
    sandbox.setFaults([{ kind: 'code', code: 'LOAD_UNDER_REVIEW', applied: true, times: 1 }]);
    expect(await pay({}, { paymentId: 'odd-1' })).toEqual({ kind: 'unknown', code: 'LOAD_UNDER_REVIEW', message: expect.stringContaining('the payment may have been applied') });
    const [applied] = sandbox.transactions();
    expect(await client.lookup(instruction('odd-1'))).toMatchObject({ found: true, reference: applied!.id });
  });

  it('leaves a lookup without an answer (the doubt stays) and fails a balance read; neither moves money', async () => {
    sandbox.setFaults([{ kind: 'code', code: 'SEARCH_OFFLINE', paths: ['/loads', '/master-funds'] }]);
    expect(await client.lookup(instruction('odd-2'))).toEqual({ found: 'unknown', outcome: expect.objectContaining({ kind: 'unknown', code: 'SEARCH_OFFLINE' }) });
    await expect(client.fundingBalanceCents()).rejects.toMatchObject({ name: 'PtApiError', outcome: { kind: 'unknown', code: 'SEARCH_OFFLINE' } });
    expect(sandbox.transactions()).toEqual([]);
  });

  it('makes a refused login retryable for the payment waiting on it: nothing was sent', async () => {
    const fresh = clientOf(sandbox);
    sandbox.setFaults([{ kind: 'code', code: 'LOGIN_LOCKED', paths: ['/users/login'], times: 1 }]);
    expect(await pay({}, { client: fresh })).toMatchObject({ kind: 'retryable', code: 'LOGIN_LOCKED', throttled: false });
    expect(sandbox.transactions()).toEqual([]);
  });
});
