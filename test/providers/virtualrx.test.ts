import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { fixturePath } from '../../src/package-root.js';
import type { ProviderClient } from '../../src/providers/types.js';
import { virtualrx, type VirtualRxFields } from '../../src/providers/virtualrx.js';
import type { RunningSandbox } from '../../src/sandbox/index.js';
import { sandboxPerFile } from '../helpers/client-context.js';
import { itTreatsLostAnswersAsUnknown } from '../helpers/contract-cases.js';

/** The real VirtualRx adapter against the VirtualRx sandbox over HTTP: every outcome a Payment can reach. */

// The default seed plus a customer one cent below the program's maximum balance, which the daily
// limit keeps out of reach of the seeded customers.
const NEAR_MAX = '30000000001';

let sandbox: RunningSandbox;
let client: ProviderClient<VirtualRxFields>;
const contexts = sandboxPerFile(
  'virtualrx',
  (started) => {
    sandbox = started;
    client = clientWith('sandbox-token');
  },
  {
    seed: async () => {
      const seed = JSON.parse(await readFile(fixturePath('virtualrx', 'sandbox.json'), 'utf8'));
      seed.customers.push({ CustId: NEAR_MAX, ProgramId: '7311', status: 'active', balanceCents: 499_999 });
      return seed;
    },
  },
);

function clientWith(token: string) {
  return virtualrx.createClient(contexts.context(sandbox.url, { token }));
}

function pay(fields: Partial<VirtualRxFields> = {}, amountCents = 1250, payer = client) {
  return payer.pay({
    paymentId: 'not-sent-to-virtualrx',
    idempotencyKey: 'not-sent-to-virtualrx',
    amountCents,
    fields: { CustId: '20230226001', ProgramId: '7311', ClaimReferenceNumber: 'CLM-1', ClientGroupID: 'GRP-1', ReasonDescription: 'Visit 1', ...fields },
  });
}
const balance = (custId: string) => (sandbox.state() as { customers: { CustId: string; balanceCents: number }[] }).customers.find((c) => c.CustId === custId)!.balanceCents;

describe('paid', () => {
  it('is paid with the sandbox transaction id (ServiceId), the customer balance up by exactly the amount', async () => {
    const outcome = await pay({ CustId: '20230226004' }, 2345);
    const [applied] = sandbox.transactions();
    expect(outcome).toEqual({ kind: 'paid', reference: applied!.id, code: '0', message: 'StatusOK' });
    expect(applied).toMatchObject({ kind: 'load', payee: '20230226004', amountCents: 2345, key: 'CLM-1' });
    expect(balance('20230226004')).toBe(2345);
  });

  it('pays again when sent again: VirtualRx has no idempotency key', async () => {
    await pay();
    await pay();
    expect(sandbox.transactions()).toHaveLength(2);
    expect(balance('20230226001')).toBe(2500);
  });
});

describe('declined (nothing moved)', () => {
  it.each([
    ['70022', 'a customer whose card is not issued', { CustId: '20230226022' }, 1250],
    ['70022', 'an unknown customer', { CustId: '99999999999' }, 1250],
    ['70025', 'a suspended customer', { CustId: '20230226021' }, 1250],
    ['70061', 'a load above the per-load maximum', {}, 50_001],
    ['70062', 'a balance above the program maximum', { CustId: NEAR_MAX }, 2],
  ] as const)('%s for %s', async (code, _, fields, amountCents) => {
    expect(await pay(fields, amountCents)).toEqual({ kind: 'declined', code, message: expect.any(String) });
    expect(sandbox.transactions()).toEqual([]);
  });

  it('70063 once the day\'s loads reach the daily limit', async () => {
    for (let i = 0; i < 4; i += 1) expect((await pay({}, 50_000)).kind).toBe('paid');
    expect(await pay({}, 1)).toEqual({ kind: 'declined', code: '70063', message: expect.stringContaining('LimitsViolation') });
    expect(balance('20230226001')).toBe(200_000);
  });

  it('at the limits: the per-load maximum and the maximum balance are allowed', async () => {
    expect((await pay({}, 50_000)).kind).toBe('paid');
    expect((await pay({ CustId: NEAR_MAX }, 1)).kind).toBe('paid');
  });
});

describe('retryable (nothing moved)', () => {
  it('80000 (upstream connection issues) is retryable, not throttled', async () => {
    sandbox.setFaults([{ kind: 'retryable' }]);
    expect(await pay()).toEqual({ kind: 'retryable', code: '80000', message: expect.stringContaining('Unknown Error'), throttled: false });
    expect(sandbox.transactions()).toEqual([]);
  });

  it('HTTP 429 is throttled with the Retry-After', async () => {
    sandbox.setFaults([{ kind: 'throttle', retryAfterSeconds: 4 }]);
    expect(await pay()).toEqual({ kind: 'retryable', code: 'HTTP_429', message: expect.any(String), throttled: true, retryAfterMs: 4000 });
    sandbox.setFaults([]);
    sandbox.setRateLimit({ max: 1, perMs: 30_000 });
    expect((await pay()).kind).toBe('paid');
    expect(await pay()).toMatchObject({ kind: 'retryable', code: 'HTTP_429', throttled: true, retryAfterMs: 30_000 });
    expect(sandbox.transactions()).toHaveLength(1);
  });

  it('a rejected token (HTTP 401) is retryable, not throttled', async () => {
    expect(await pay({}, 1250, clientWith('wrong-token'))).toEqual({ kind: 'retryable', code: 'HTTP_401', message: expect.any(String), throttled: false });
    expect(sandbox.transactions()).toEqual([]);
  });
});

describe('unknown (may have moved)', () => {
  itTreatsLostAnswersAsUnknown({ sandbox: () => sandbox, pay: async () => () => pay(), moved: () => balance('20230226001'), cents: 1250 });
});

it('check() is unverifiable and sends nothing', async () => {
  expect((await client.check()).status).toBe('unverifiable');
  expect(sandbox.requests()).toEqual([]);
});

describe('a StatusCode VirtualRx never documented (the policy in contract-rules.ts)', () => {
  it('makes a Payment unknown, never declined: it may have been applied', async () => {
    sandbox.setFaults([{ kind: 'code', code: '70099', applied: true, times: 1 }]);
    expect(await pay()).toEqual({ kind: 'unknown', code: '70099', message: expect.stringContaining('the payment may have been applied') });
    expect(sandbox.transactions()).toHaveLength(1);
  });

  it.each([
    ['an amount of zero', {}, 0],
    ['an empty ClientGroupID', { ClientGroupID: '' }, 1250],
  ] as const)('makes the sandbox\'s own 90001 (InvalidRequest, not in the table) unknown for %s', async (_, fields, amountCents) => {
    expect(await pay(fields, amountCents)).toEqual({ kind: 'unknown', code: '90001', message: expect.stringContaining('may have been applied') });
    expect(sandbox.transactions()).toEqual([]);
  });
});
