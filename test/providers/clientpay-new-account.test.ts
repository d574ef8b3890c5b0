import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { submitManifest } from '../../src/batches/submit.js';
import { waitForBatch } from '../../src/batches/wait.js';
import { fixturePath } from '../../src/package-root.js';
import { type ClientPayCredentials, type ClientPayFields, clientpay } from '../../src/providers/clientpay.js';
import { writeReconciliation } from '../../src/reports/reconciliation.js';
import { startSandbox, type RunningSandbox } from '../../src/sandbox/index.js';
import { clientContexts } from '../helpers/client-context.js';
import { parseReport, startStack, type TestStack } from '../helpers/stack.js';
import { stipend } from '../helpers/stipend-process.js';

/**
 * A ClientPay account that has never had an accessId, answering /access-id/current each way such
 * an account answers (the documented null, an empty id, or 401 INVALID_ACCESS_ID): the adapter gets
 * one with /access-id/new and pays; `check` proves the credentials and the PIN with them, never
 * trusting an accessId kept in the shared session; and a batch is paid end to end.
 */

const CREDENTIALS: ClientPayCredentials = { integratorKey: 'sandbox-integrator', accountKey: 'sandbox-account', accountPin: '4826' };
const WRONG_PIN: ClientPayCredentials = { ...CREDENTIALS, accountPin: '9999' };
const FIELDS: ClientPayFields = { payeeToken: 'PT-0001', referenceNumber: 'REF-1', description: 'Visit 1 stipend' };
const NO_ACCESS_ID = ['null', 'empty', 'INVALID_ACCESS_ID'] as const;

/** The default seed with the account answering as a new ClientPay account may. */
async function seed(account: { currentWithoutAccessId?: (typeof NO_ACCESS_ID)[number]; wrongCredentialsCode?: string }) {
  const fixture = JSON.parse(await readFile(fixturePath('clientpay', 'sandbox.json'), 'utf8')) as { accounts: Record<string, unknown>[] };
  return { accounts: [{ ...fixture.accounts[0], ...account }] };
}

async function post(sandbox: RunningSandbox, path: string, body: Record<string, string>) {
  const response = await fetch(`${sandbox.url}/v2/${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}
const paths = (sandbox: RunningSandbox, from = 0) => sandbox.requests().slice(from).map((r) => `${r.path} ${r.status}`);

const contexts = clientContexts();
afterAll(() => contexts.cleanup());

describe.each(NO_ACCESS_ID)('an account whose /access-id/current answers %s while it has no accessId', (mode) => {
  let sandbox: RunningSandbox;
  beforeAll(async () => {
    sandbox = await startSandbox('clientpay', { port: 0, seed: await seed({ currentWithoutAccessId: mode }) });
  });
  afterAll(() => sandbox?.close());
  beforeEach(() => sandbox.reset());
  const currentStatus = mode === 'INVALID_ACCESS_ID' ? 401 : 200;

  it('the sandbox answers so on the wire, and with the accessId once the account has one', async () => {
    const none = { null: { status: 200, body: { accessId: null } }, empty: { status: 200, body: { accessId: '' } }, INVALID_ACCESS_ID: { status: 401, body: { error: { code: 'INVALID_ACCESS_ID', message: expect.any(String) } } } }[mode];
    expect(await post(sandbox, 'access-id/current', CREDENTIALS)).toEqual(none);
    const { accessId } = (await post(sandbox, 'access-id/new', CREDENTIALS)).body;
    expect(await post(sandbox, 'access-id/current', CREDENTIALS)).toEqual({ status: 200, body: { accessId } });
  });

  it('the first payment takes a new accessId, once, and is paid once', async () => {
    const context = contexts.context(sandbox.url, CREDENTIALS);
    const client = clientpay.createClient(context);
    const key = await client.issueIdempotencyKey();
    if (!key.ok) throw new Error(`no requestId: ${key.outcome.code}: ${key.outcome.message}`);
    const outcome = await client.pay({ paymentId: 'p-1', idempotencyKey: key.key, amountCents: 1250, fields: FIELDS });
    expect(outcome).toMatchObject({ kind: 'paid', reference: sandbox.transactions()[0]!.id });
    expect(paths(sandbox)).toEqual([`/v2/access-id/current ${currentStatus}`, '/v2/access-id/new 200', '/v2/request-id 200', '/v2/payment 200']);
    expect(sandbox.transactions()).toHaveLength(1);
    expect(await context.session.get()).toBe((await post(sandbox, 'access-id/current', CREDENTIALS)).body.accessId);
  });

  it('check is OK for the right credentials, issuing an accessId only where /current cannot tell (a 401), and then for the workers', async () => {
    const context = contexts.context(sandbox.url, CREDENTIALS);
    expect(await clientpay.createClient(context).check()).toEqual({ status: 'ok', detail: expect.any(String) });
    if (mode !== 'INVALID_ACCESS_ID') {
      // ClientPay answered the credentials (200), which proves them: nothing issued.
      expect(paths(sandbox)).toEqual(['/v2/access-id/current 200']);
      expect(await context.session.get()).toBeUndefined();
      return;
    }
    // Under the session's lock /current is asked again, then /new: there was none to expire.
    expect(paths(sandbox)).toEqual(['/v2/access-id/current 401', '/v2/access-id/current 401', '/v2/access-id/new 200']);
    const issued = await context.session.get();
    expect(issued).toBe((await post(sandbox, 'access-id/current', CREDENTIALS)).body.accessId);
    // A worker sharing the session uses it.
    const from = sandbox.requests().length;
    expect(await clientpay.createClient(context).issueIdempotencyKey()).toMatchObject({ ok: true });
    expect(paths(sandbox, from)).toEqual(['/v2/request-id 200']);
  });

  it('check fails with a wrong PIN, saying why, and issues nothing', async () => {
    const result = await clientpay.createClient(contexts.context(sandbox.url, WRONG_PIN)).check();
    expect(result).toEqual({ status: 'failed', detail: expect.stringMatching(/^INVALID_CREDENTIALS: /) });
    expect(result.detail).not.toContain('9999');
    expect(sandbox.requests().filter((r) => r.status === 200)).toEqual([]);
  });
});

describe('check racing a worker for the first accessId (current answers 401 INVALID_ACCESS_ID)', () => {
  let sandbox: RunningSandbox;
  beforeAll(async () => {
    sandbox = await startSandbox('clientpay', { port: 0, seed: await seed({ currentWithoutAccessId: 'INVALID_ACCESS_ID' }) });
  });
  afterAll(() => sandbox?.close());

  it('asks /current again once a worker stored one meanwhile, and is OK with it, issuing nothing itself', async () => {
    const context = contexts.context(sandbox.url, CREDENTIALS, { sessionKey: 'race' });
    const worker = clientpay.createClient(contexts.context(sandbox.url, CREDENTIALS, { sessionKey: 'race' }));
    // The worker takes the first accessId right after check read the (empty) session.
    const racing = clientpay.createClient({
      ...context,
      session: {
        get: () => context.session.get(),
        async renew(stale, obtain) {
          expect(await worker.issueIdempotencyKey()).toMatchObject({ ok: true });
          return context.session.renew(stale, obtain);
        },
      },
    });
    expect(await racing.check()).toEqual({ status: 'ok', detail: expect.stringMatching(/current accessId/) });
    expect(paths(sandbox)).toEqual([
      '/v2/access-id/current 401',
      '/v2/access-id/current 401',
      '/v2/access-id/new 200',
      '/v2/request-id 200',
      '/v2/access-id/current 200',
    ]);
    expect(await context.session.get()).toBe((await post(sandbox, 'access-id/current', CREDENTIALS)).body.accessId);
  });
});

describe.each(['INVALID_CREDENTIALS', 'INVALID_ACCESS_ID'])('check with a wrong PIN while the shared session keeps a valid accessId (wrong credentials answered %s)', (code) => {
  let sandbox: RunningSandbox;
  beforeAll(async () => {
    sandbox = await startSandbox('clientpay', { port: 0, seed: await seed({ currentWithoutAccessId: 'INVALID_ACCESS_ID', wrongCredentialsCode: code }) });
  });
  afterAll(() => sandbox?.close());
  beforeEach(() => sandbox.reset());

  it('is FAILED, and the accessId the workers use stays valid', async () => {
    const good = contexts.context(sandbox.url, CREDENTIALS, { sessionKey: `kept-${code}` });
    expect(await clientpay.createClient(good).issueIdempotencyKey()).toMatchObject({ ok: true });
    const kept = (await good.session.get())!;
    const from = sandbox.requests().length;
    const result = await clientpay.createClient(contexts.context(sandbox.url, WRONG_PIN, { sessionKey: `kept-${code}` })).check();
    expect(result).toEqual({ status: 'failed', detail: expect.stringMatching(new RegExp(`^${code}: `)) });
    expect(sandbox.requests().slice(from).every((r) => r.status === 401)).toBe(true);
    expect(await post(sandbox, 'access-id/validate', { accessId: kept })).toEqual({ status: 200, body: { valid: true } });
    expect(await good.session.get()).toBe(kept);
  });
});

describe.each(['INVALID_ACCESS_ID', 'empty'] as const)('a batch from a new account whose /access-id/current answers %s', (mode) => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startStack({ providers: ['clientpay'], sandbox: { seed: await seed({ currentWithoutAccessId: mode }) } });
  });
  afterAll(() => stack?.close());

  it('stipend check says OK, then every row is paid once, on its first call', async () => {
    const check = await stipend(['--config', stack.configFile, 'check']);
    expect(check).toMatchObject({ code: 0, stdout: expect.stringMatching(/^clientpay\/main \(ClientPay, .*\): OK: /) });
    await stack.startWorkers();
    const file = await stack.manifest('new-account.csv', [
      'payment_id,payeeToken,referenceNumber,description,amount',
      'n-1,PT-0001,REF-1,Visit 1 stipend,25.00',
      'n-2,PT-0002,REF-2,Visit 1 stipend,12.34',
      'n-3,PT-0003,REF-3,Mileage,0.99',
    ].join('\n'));
    const submitted = await submitManifest(stack.context, { file, account: stack.account('clientpay') });
    if (!submitted.accepted) throw new Error(`manifest rejected: ${JSON.stringify(submitted.scan)}`);
    await waitForBatch(stack.context, submitted.batchId, { pollMs: 50 });
    const report = await writeReconciliation(stack.context, submitted.batchId, stack.dir);
    const rows = parseReport(await readFile(report.csv, 'utf8'));
    expect(rows.map((r) => [r.payment_id, r.status, r.attempts])).toEqual([['n-1', 'paid', '1'], ['n-2', 'paid', '1'], ['n-3', 'paid', '1']]);
    const sandbox = stack.sandboxes.clientpay!;
    expect(sandbox.transactions().map((t) => [t.payee, t.amountCents, t.id]).sort()).toEqual(rows.map((r) => [r.payee, Number(r.amount_cents), r.provider_reference]).sort());
    // The account got exactly one accessId, however many workers and calls needed one.
    expect(sandbox.requests().filter((r) => r.path === '/v2/access-id/new')).toHaveLength(1);
  });
});
