import { createServer, type AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type ClientPayClient, type ClientPayCredentials, type ClientPayFields, clientpay } from '../../src/providers/clientpay.js';
import { createHttpSender } from '../../src/providers/http.js';
import { connectRedis } from '../../src/redis/connection.js';
import { startSandbox, type RunningSandbox } from '../../src/sandbox/index.js';
import { sessionSeal } from '../../src/sending/session-seal.js';
import { redisSession } from '../../src/sending/shared-session.js';
import { clientContexts } from '../helpers/client-context.js';
import { itTreatsLostAnswersAsUnknown } from '../helpers/contract-cases.js';

/**
 * The real ClientPay adapter against the ClientPay sandbox over HTTP: every outcome it can reach,
 * and the accessId every worker process of the account shares through the session in Redis.
 */

const CREDENTIALS: ClientPayCredentials = { integratorKey: 'sandbox-integrator', accountKey: 'sandbox-account', accountPin: '4826' };
const FIELDS: ClientPayFields = { payeeToken: 'PT-0001', referenceNumber: 'REF-1', description: 'Visit 1 stipend' };
type Client = ClientPayClient;

let sandbox: RunningSandbox;
let client: Client;
beforeAll(async () => {
  sandbox = await startSandbox('clientpay', { port: 0 });
});
const contexts = clientContexts();
afterAll(async () => {
  await sandbox?.close();
  await contexts.cleanup();
});
beforeEach(() => {
  // A reset forgets every accessId, so each test starts with a fresh session too.
  sandbox.reset();
  client = clientWith();
});

function clientWith(options: { credentials?: ClientPayCredentials; timeoutMs?: number; sessionKey?: string } = {}): Client {
  return clientpay.createClient(contexts.context(sandbox.url, options.credentials ?? CREDENTIALS, options));
}

/** A requestId, as the worker gets one before the first payment call and keeps it in the ledger. */
async function issue(payer = client): Promise<string> {
  const key = await payer.issueIdempotencyKey();
  if (!key.ok) throw new Error(`no requestId: ${key.outcome.code}`);
  return key.key;
}

function pay(key: string, fields: Partial<ClientPayFields> = {}, options: { amountCents?: number; client?: Client } = {}) {
  return (options.client ?? client).pay({ paymentId: 'p-1', idempotencyKey: key, amountCents: options.amountCents ?? 1250, fields: { ...FIELDS, ...fields } });
}

const payOnce = async (fields: Partial<ClientPayFields> = {}, options: { amountCents?: number; client?: Client } = {}) => pay(await issue(options.client), fields, options);

/** A call straight to the sandbox, as another integration on the same account would make it. */
async function post(path: string, body: Record<string, string>): Promise<Record<string, unknown>> {
  const response = await fetch(`${sandbox.url}/v2/${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return (await response.json()) as Record<string, unknown>;
}
const currentAccessId = async () => (await post('access-id/current', CREDENTIALS)).accessId as string;

const balance = (payeeToken: string) =>
  (sandbox.state() as { accounts: { payees: { payeeToken: string; balanceCents: number }[] }[] }).accounts[0]!.payees.find((p) => p.payeeToken === payeeToken)!.balanceCents;
const pathsSince = (from: number) => sandbox.requests().slice(from).map((r) => r.path);
const payee = (n: number) => `PT-${String(n).padStart(4, '0')}`;

/** Where nothing listens: a port that was free a moment ago. */
async function closedPortUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return `http://127.0.0.1:${port}`;
}

function expectNoSecrets(value: unknown, accessIds: string[]) {
  const text = JSON.stringify(value);
  for (const secret of [...accessIds, CREDENTIALS.integratorKey, CREDENTIALS.accountKey]) expect(text).not.toContain(secret);
}

describe('paid', () => {
  it('is paid with the transaction id; the payee up by exactly the amount, one load under the requestId', async () => {
    const key = await issue();
    const outcome = await pay(key, { payeeToken: 'PT-0004' }, { amountCents: 1999 });
    const [applied] = sandbox.transactions();
    expect(outcome).toEqual({ kind: 'paid', reference: applied!.id, code: 'APPROVED', message: '' });
    expect(sandbox.transactions()).toEqual([
      { id: applied!.id, kind: 'load', account: 'sandbox', payee: 'PT-0004', amountCents: 1999, key, description: 'Visit 1 stipend', at: expect.any(String) },
    ]);
    expect(balance('PT-0004')).toBe(1999);
  });

  it('a payment whose answer was lost is settled by the resend with its requestId: unknown, then paid once with the same transaction id', async () => {
    const key = await issue();
    sandbox.setFaults([{ kind: 'drop-after', times: 1 }]);
    expect(await pay(key)).toEqual({ kind: 'unknown', code: 'NO_RESPONSE', message: expect.any(String) });
    const [applied] = sandbox.transactions();
    expect(await pay(key)).toEqual({ kind: 'paid', reference: applied!.id, code: 'APPROVED', message: '' });
    expect(sandbox.transactions()).toHaveLength(1);
    expect(balance('PT-0001')).toBe(1250);
  });

  it('the resend replays even after the accessId was renewed: requestIds belong to the account', async () => {
    const key = await issue();
    sandbox.setFaults([{ kind: 'drop-after', times: 1 }]);
    expect((await pay(key)).kind).toBe('unknown');
    await post('access-id/new', CREDENTIALS);
    expect(await pay(key)).toMatchObject({ kind: 'paid', reference: sandbox.transactions()[0]!.id });
    expect(sandbox.transactions()).toHaveLength(1);
    expect(balance('PT-0001')).toBe(1250);
  });
});

describe('declined (nothing moved)', () => {
  it('DECLINED carries the declineReason', async () => {
    expect(await payOnce({ payeeToken: 'PT-0021' })).toEqual({ kind: 'declined', code: 'DECLINED', message: 'payee account closed' });
    expect(sandbox.transactions()).toEqual([]);
    expect(balance('PT-0021')).toBe(0);
  });

  it.each([
    ['an unknown payeeToken', { payeeToken: 'PT-0099' }, 1250],
    ['an amount of zero', {}, 0],
  ] as const)('VALIDATION_ERROR for %s', async (_, fields, amountCents) => {
    expect(await payOnce(fields, { amountCents })).toEqual({ kind: 'declined', code: 'VALIDATION_ERROR', message: expect.any(String) });
    expect(sandbox.transactions()).toEqual([]);
  });

  it('VALIDATION_ERROR for a requestId ClientPay never issued', async () => {
    await issue();
    expect(await pay('made-up')).toEqual({ kind: 'declined', code: 'VALIDATION_ERROR', message: expect.stringMatching(/^requestId\b/) });
  });
});

describe('retryable (nothing moved)', () => {
  it('HTTP 429 from a throttle or the account rate limit is throttled with the Retry-After', async () => {
    sandbox.setFaults([{ kind: 'throttle', retryAfterSeconds: 3 }]);
    expect(await payOnce()).toEqual({ kind: 'retryable', code: 'HTTP_429', message: expect.any(String), throttled: true, retryAfterMs: 3000 });
    sandbox.setFaults([]);
    const keys = [await issue(), await issue()];
    sandbox.setRateLimit({ max: 1, perMs: 60_000 });
    expect((await pay(keys[0]!)).kind).toBe('paid');
    expect(await pay(keys[1]!, { payeeToken: 'PT-0002' })).toEqual({ kind: 'retryable', code: 'HTTP_429', message: expect.any(String), throttled: true, retryAfterMs: 60_000 });
    expect(sandbox.transactions()).toHaveLength(1);
  });

  it('HTTP 503 (ClientPay\'s retry-later) is throttled with the Retry-After', async () => {
    sandbox.setFaults([{ kind: 'retryable', retryAfterSeconds: 2 }]);
    expect(await payOnce()).toEqual({ kind: 'retryable', code: 'HTTP_503', message: expect.any(String), throttled: true, retryAfterMs: 2000 });
    expect(sandbox.transactions()).toEqual([]);
  });

  it('credentials that match no account are retryable, not throttled, for the payment and for its requestId', async () => {
    const wrong = clientWith({ credentials: { ...CREDENTIALS, accountPin: '0000' } });
    const refused = { kind: 'retryable', code: 'INVALID_CREDENTIALS', message: expect.any(String), throttled: false };
    expect(await pay(await issue(), {}, { client: wrong })).toEqual(refused);
    expect(await wrong.issueIdempotencyKey()).toEqual({ ok: false, outcome: refused });
    expect(sandbox.transactions()).toEqual([]);
  });

  it('a requestId that could not be had is retryable: no payment was sent', async () => {
    const notPaid = (code: string) => ({ ok: false, outcome: { kind: 'retryable', code, message: expect.stringContaining('nothing was paid'), throttled: false } });
    for (const [kind, code] of [['server-error', 'HTTP_500'], ['drop-after', 'NO_RESPONSE'], ['garbage', 'HTTP_200_UNREADABLE']] as const) {
      sandbox.setFaults([{ kind, paths: ['/v2/request-id'], times: 1 }]);
      expect(await client.issueIdempotencyKey()).toEqual(notPaid(code));
    }
    sandbox.setFaults([{ kind: 'throttle', paths: ['/v2/request-id'], retryAfterSeconds: 5 }]);
    expect(await client.issueIdempotencyKey()).toMatchObject({ ok: false, outcome: { kind: 'retryable', code: 'HTTP_429', throttled: true, retryAfterMs: 5000 } });
    const nowhere = clientpay.createClient(contexts.context(await closedPortUrl(), CREDENTIALS));
    expect(await nowhere.issueIdempotencyKey()).toEqual({ ok: false, outcome: { kind: 'retryable', code: 'ECONNREFUSED', message: expect.any(String), throttled: false } });
    expect(await nowhere.pay({ paymentId: 'p', idempotencyKey: 'k', amountCents: 1, fields: FIELDS })).toEqual({ kind: 'retryable', code: 'ECONNREFUSED', message: expect.any(String), throttled: false });
  });
});

describe('unknown (may have moved)', () => {
  itTreatsLostAnswersAsUnknown({ sandbox: () => sandbox, pay: async () => { const key = await issue(); return () => pay(key); }, moved: () => balance('PT-0001'), cents: 1250 });

  it('no answer within the timeout', async () => {
    const slow = clientWith({ timeoutMs: 100 });
    const key = await issue(slow);
    sandbox.setFaults([{ kind: 'latency', latencyMs: 400 }]);
    expect(await pay(key, {}, { client: slow })).toMatchObject({ kind: 'unknown', code: 'NO_RESPONSE' });
  });

  it('409 REQUEST_ID_USED: the requestId already went with another body, so a person must look', async () => {
    const key = await issue();
    const first = await pay(key);
    expect(await pay(key, { payeeToken: 'PT-0002' }, { amountCents: 5000 })).toEqual({ kind: 'unknown', code: 'REQUEST_ID_USED', message: expect.any(String) });
    expect(sandbox.transactions()).toEqual([expect.objectContaining({ id: (first as { reference: string }).reference, payee: 'PT-0001', amountCents: 1250, key })]);
    expect([balance('PT-0001'), balance('PT-0002')]).toEqual([1250, 0]);
  });
});

describe('the accessId shared by the account', () => {
  it('the first call takes the current accessId, or a new one when the account has none; every client of the session reuses it', async () => {
    const context = contexts.context(sandbox.url, CREDENTIALS, { sessionKey: 'first-use' });
    await issue(clientpay.createClient(context));
    expect(pathsSince(0)).toEqual(['/v2/access-id/current', '/v2/access-id/new', '/v2/request-id']);
    expect(await context.session.get()).toBe(await currentAccessId());
    const from = sandbox.requests().length;
    await payOnce({}, { client: clientWith({ sessionKey: 'first-use' }) });
    expect(pathsSince(from)).toEqual(['/v2/request-id', '/v2/payment']);
  });

  it('a current accessId issued elsewhere is taken, not replaced', async () => {
    const elsewhere = (await post('access-id/new', CREDENTIALS)).accessId as string;
    const from = sandbox.requests().length;
    expect((await payOnce()).kind).toBe('paid');
    expect(pathsSince(from)).toEqual(['/v2/access-id/current', '/v2/request-id', '/v2/payment']);
    expect(await post('access-id/validate', { accessId: elsewhere })).toEqual({ valid: true });
  });

  it('a refused accessId is renewed once and the call sent again', async () => {
    expect((await payOnce()).kind).toBe('paid');
    await post('access-id/new', CREDENTIALS);
    const from = sandbox.requests().length;
    expect((await payOnce({ payeeToken: 'PT-0002' })).kind).toBe('paid');
    expect(sandbox.requests().slice(from).map((r) => `${r.path} ${r.status}`)).toEqual([
      '/v2/request-id 401',
      '/v2/access-id/new 200',
      '/v2/request-id 200',
      '/v2/payment 200',
    ]);
  });

  it('after the accessId was expired, concurrent payments from several processes issue exactly one new one, each paid once', async () => {
    // Four workers, each with its own Redis connection, sharing one session key.
    const connections = Array.from({ length: 4 }, () => connectRedis({ redisUrl: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' }));
    const sessionKey = `${contexts.redis.prefix}:session:concurrent`;
    const sessions = connections.map((redis) => redisSession(redis, sessionKey, sessionSeal(CREDENTIALS, sessionKey)));
    const workers = sessions.map((session) => clientpay.createClient({ baseUrl: sandbox.url, credentials: CREDENTIALS, send: createHttpSender({ timeoutMs: 5000 }), session }));
    try {
      expect((await payOnce({ payeeToken: 'PT-0020' }, { client: workers[0]!, amountCents: 2000 })).kind).toBe('paid');
      await post('access-id/new', CREDENTIALS);
      const from = sandbox.requests().length;
      const outcomes = await Promise.all(
        Array.from({ length: 19 }, (_, i) => payOnce({ payeeToken: payee(i + 1), referenceNumber: `REF-${i + 1}` }, { client: workers[i % 4]!, amountCents: 101 + i })),
      );
      const since = sandbox.requests().slice(from);
      expect(since.filter((r) => r.path === '/v2/access-id/new')).toHaveLength(1);
      expect(since.filter((r) => r.status === 401).length).toBeGreaterThan(0);
      expect(outcomes.map((o) => o.kind)).toEqual(Array(19).fill('paid'));
      const transactions = sandbox.transactions();
      expect(new Set(transactions.map((t) => t.key)).size).toBe(20);
      expect(transactions.map((t) => [t.payee, t.amountCents]).sort()).toEqual(
        [['PT-0020', 2000], ...Array.from({ length: 19 }, (_, i) => [payee(i + 1), 101 + i])].sort(),
      );
      for (let i = 1; i <= 19; i += 1) expect(balance(payee(i))).toBe(100 + i);
      expect(await sessions[3]!.get()).toBe(await currentAccessId());
    } finally {
      await Promise.all(connections.map((redis) => redis.quit()));
    }
  });

  it('a refusal after the renewal is retryable, not throttled: one renewal per call, nothing applied', async () => {
    const key = await issue();
    // Another integration issues a new accessId right after each one this client gets, so even the
    // renewed one is refused.
    const context = contexts.context(sandbox.url, CREDENTIALS);
    const sent: string[] = [];
    const raced = clientpay.createClient({
      ...context,
      async send(request) {
        sent.push(new URL(request.url).pathname);
        const result = await context.send(request);
        if (/\/access-id\/(current|new)$/.test(request.url)) await post('access-id/new', CREDENTIALS);
        return result;
      },
    });
    const refused = { kind: 'retryable', code: 'INVALID_ACCESS_ID', message: expect.any(String), throttled: false };
    const outcome = await pay(key, {}, { client: raced });
    expect(outcome).toEqual(refused);
    expect(sent).toEqual(['/v2/access-id/current', '/v2/payment', '/v2/access-id/new', '/v2/payment']);
    expect(await raced.issueIdempotencyKey()).toEqual({ ok: false, outcome: refused });
    expect(sandbox.transactions()).toEqual([]);
    expectNoSecrets(outcome, [(await context.session.get())!]);
    // Nothing was applied, so the kept requestId still pays, once.
    expect((await pay(key)).kind).toBe('paid');
    expect(sandbox.transactions()).toHaveLength(1);
  });
});

describe('check()', () => {
  it('proves the credentials with /access-id/current alone: an account with no accessId yet is OK, nothing issued', async () => {
    const context = contexts.context(sandbox.url, CREDENTIALS);
    const result = await clientpay.createClient(context).check();
    expect(result).toEqual({ status: 'ok', detail: expect.any(String) });
    expect(pathsSince(0)).toEqual(['/v2/access-id/current']);
    expect(await context.session.get()).toBeUndefined();
  });

  it('asks for the current accessId even with one kept, and never issues or expires one: an accessId issued elsewhere stays valid', async () => {
    await payOnce();
    const elsewhere = (await post('access-id/new', CREDENTIALS)).accessId as string;
    const from = sandbox.requests().length;
    const result = await client.check();
    expect(result).toEqual({ status: 'ok', detail: expect.any(String) });
    expect(pathsSince(from)).toEqual(['/v2/access-id/current']);
    expect(await post('access-id/validate', { accessId: elsewhere })).toEqual({ valid: true });
    expectNoSecrets(result, [elsewhere]);
  });

  it('fails with a wrong accountPin, saying why and nothing secret', async () => {
    const result = await clientWith({ credentials: { ...CREDENTIALS, accountPin: '9999' } }).check();
    expect(result).toEqual({ status: 'failed', detail: expect.stringMatching(/^INVALID_CREDENTIALS: /) });
    expect(result.detail).not.toContain('9999');
    expectNoSecrets(result, []);
  });

  it('fails with a wrong accountPin even while the shared session keeps a valid accessId, which stays valid', async () => {
    await payOnce({}, { client: clientWith({ sessionKey: 'kept' }) });
    const kept = await currentAccessId();
    const from = sandbox.requests().length;
    const result = await clientWith({ credentials: { ...CREDENTIALS, accountPin: '9999' }, sessionKey: 'kept' }).check();
    expect(result).toEqual({ status: 'failed', detail: expect.stringMatching(/^INVALID_CREDENTIALS: /) });
    expect(pathsSince(from)).toEqual(['/v2/access-id/current']);
    expect(await post('access-id/validate', { accessId: kept })).toEqual({ valid: true });
  });
});

describe('an error code ClientPay never documented (the policy in contract-rules.ts)', () => {
  it('makes a payment unknown, never declined: the resend with the same requestId gets the first result, paid once', async () => {
    const key = await issue();
    sandbox.setFaults([{ kind: 'code', code: 'PAYMENT_UNDER_REVIEW', applied: true, times: 1 }]);
    expect(await pay(key)).toEqual({ kind: 'unknown', code: 'PAYMENT_UNDER_REVIEW', message: expect.stringContaining('the payment may have been applied') });
    const [applied] = sandbox.transactions();
    expect(await pay(key)).toMatchObject({ kind: 'paid', reference: applied!.id });
    expect(sandbox.transactions()).toHaveLength(1);
  });

  it('makes a requestId request retryable: nothing was paid', async () => {
    await issue();
    sandbox.setFaults([{ kind: 'code', code: 'KEYS_EXHAUSTED', paths: ['/v2/request-id'], times: 1 }]);
    expect(await client.issueIdempotencyKey()).toEqual({ ok: false, outcome: { kind: 'retryable', code: 'KEYS_EXHAUSTED', message: expect.stringContaining('nothing was paid'), throttled: false } });
  });
});
