import { describe, expect, it } from 'vitest';
import type { HttpRequest } from '../../src/providers/http.js';
import { ctpayer, type CtPayerClient, type CtPayerCredentials, type CtPayerFields } from '../../src/providers/ctpayer.js';
import type { RunningSandbox } from '../../src/sandbox/index.js';
import { sandboxPerFile } from '../helpers/client-context.js';
import { ctPayerCardBalance } from '../helpers/sandbox-state.js';
import { itTreatsLostAnswersAsUnknown } from '../helpers/contract-cases.js';

/** The real CT Payer adapter against the CT Payer sandbox over HTTP: every outcome it can reach. */

const CREDENTIALS: CtPayerCredentials = { username: 'sandbox', password: 'sandbox-password', apiusername: 'test-suite' };

let sandbox: RunningSandbox;
const cardBalance = (cardId: string) => ctPayerCardBalance(sandbox, cardId);
let client: CtPayerClient;
const contexts = sandboxPerFile('ctpayer', (started) => {
  sandbox = started;
  client = clientWith();
});

function clientWith(options: { credentials?: CtPayerCredentials; timeoutMs?: number } = {}): CtPayerClient {
  return ctpayer.createClient(contexts.context(sandbox.url, options.credentials ?? CREDENTIALS, options));
}

let sequence = 0;
function pay(fields: Partial<CtPayerFields> = {}, options: { amountCents?: number; paymentId?: string; client?: CtPayerClient } = {}) {
  sequence += 1;
  const paymentId = options.paymentId ?? `pay-${sequence}`;
  return (options.client ?? client).pay({
    paymentId,
    idempotencyKey: paymentId,
    amountCents: options.amountCents ?? 1250,
    fields: { cardId: '1000000001', description: 'Visit 1 stipend', ...fields },
  });
}

describe('paid', () => {
  it('is paid with the sandbox transaction id, the card up and the funding account down by exactly the amount', async () => {
    const outcome = await pay({ cardId: '1000000004', groupId: 'STUDY-A' }, { amountCents: 1999, paymentId: 'paid-1' });
    const [applied] = sandbox.transactions();
    expect(outcome).toEqual({ kind: 'paid', reference: applied!.id, code: 'success', message: '' });
    expect(applied).toMatchObject({ kind: 'load', payee: '1000000004', amountCents: 1999, key: 'paid-1' });
    expect(cardBalance('1000000004')).toBe(1999);
    expect(await client.fundingBalanceCents()).toBe(5_000_000 - 1999);
  });

  it('a resend of the same payment is paid with the ORIGINAL transaction id and moves money once', async () => {
    const first = await pay({}, { paymentId: 'dup-1' });
    const again = await pay({}, { paymentId: 'dup-1' });
    expect(again).toMatchObject({ kind: 'paid', reference: (first as { reference: string }).reference, code: 'DUPLICATE_PAYMENT' });
    expect(sandbox.transactions()).toHaveLength(1);
    expect(cardBalance('1000000001')).toBe(1250);
  });

  it('a payment whose answer was lost is settled by the resend: unknown, then paid once', async () => {
    sandbox.setFaults([{ kind: 'drop-after', times: 1 }]);
    expect(await pay({}, { paymentId: 'lost-1' })).toMatchObject({ kind: 'unknown', code: 'NO_RESPONSE' });
    const [applied] = sandbox.transactions();
    expect(await pay({}, { paymentId: 'lost-1' })).toMatchObject({ kind: 'paid', reference: applied!.id, code: 'DUPLICATE_PAYMENT' });
    expect(sandbox.transactions()).toHaveLength(1);
    expect(cardBalance('1000000001')).toBe(1250);
  });
});

describe('declined (nothing moved)', () => {
  it.each([
    ['CARD_NOT_FOUND', { cardId: '1000000099' }, 1250],
    ['CARD_NOT_ACTIVE', { cardId: '1000000021' }, 1250],
    ['CARD_NOT_ACTIVE', { cardId: '1000000022' }, 1250],
    ['INSUFFICIENT_FUNDS', {}, 5_000_001],
    ['INVALID_PARAMETER', {}, 0],
  ] as const)('%s for %j, %i cents', async (code, fields, amountCents) => {
    expect(await pay(fields, { amountCents })).toEqual({ kind: 'declined', code, message: expect.any(String) });
    expect(sandbox.transactions()).toEqual([]);
    expect(await client.fundingBalanceCents()).toBe(5_000_000);
  });
});

describe('retryable (nothing moved)', () => {
  it('HTTP 429 from a throttle is throttled with the Retry-After', async () => {
    sandbox.setFaults([{ kind: 'throttle', retryAfterSeconds: 3 }]);
    expect(await pay()).toEqual({ kind: 'retryable', code: 'HTTP_429', message: expect.any(String), throttled: true, retryAfterMs: 3000 });
  });

  it('HTTP 429 from the account rate limit is throttled with the Retry-After', async () => {
    sandbox.setRateLimit({ max: 1, perMs: 60_000 });
    expect((await pay()).kind).toBe('paid');
    expect(await pay()).toMatchObject({ kind: 'retryable', code: 'HTTP_429', throttled: true, retryAfterMs: 60_000 });
    expect(sandbox.transactions()).toHaveLength(1);
  });

  it('HTTP 503 (CT Payer\'s retry-later) is throttled with the Retry-After', async () => {
    sandbox.setFaults([{ kind: 'retryable', retryAfterSeconds: 2 }]);
    expect(await pay()).toEqual({ kind: 'retryable', code: 'HTTP_503', message: expect.any(String), throttled: true, retryAfterMs: 2000 });
    expect(sandbox.transactions()).toEqual([]);
  });

  it('AUTH_FAILED is retryable, not throttled', async () => {
    const outcome = await pay({}, { client: clientWith({ credentials: { ...CREDENTIALS, password: 'wrong' } }) });
    expect(outcome).toEqual({ kind: 'retryable', code: 'AUTH_FAILED', message: expect.any(String), throttled: false });
    expect(sandbox.transactions()).toEqual([]);
  });
});

describe('unknown (may have moved)', () => {
  itTreatsLostAnswersAsUnknown({ sandbox: () => sandbox, pay: async () => () => pay(), moved: () => cardBalance('1000000001'), cents: 1250 });

  it('no answer within the timeout', async () => {
    sandbox.setFaults([{ kind: 'latency', latencyMs: 400 }]);
    expect(await pay({}, { client: clientWith({ timeoutMs: 100 }) })).toMatchObject({ kind: 'unknown', code: 'NO_RESPONSE' });
  });
});

describe('calls that move no money', () => {
  it('echo proves the credentials (check)', async () => {
    expect(await client.check()).toEqual({ status: 'ok', detail: expect.any(String) });
    expect(await clientWith({ credentials: { ...CREDENTIALS, password: 'wrong' } }).check()).toEqual({ status: 'failed', detail: expect.stringContaining('AUTH_FAILED') });
  });

  it('getaccountbalance and getcarddetails read the sandbox', async () => {
    await pay({ cardId: '1000000002' }, { amountCents: 4321 });
    expect(await client.fundingBalanceCents()).toBe(5_000_000 - 4321);
    expect(cardBalance('1000000002')).toBe(4321);
    expect(await client.cardDetails('1000000002')).toEqual({ cardId: '1000000002', participantId: 'P-0002', cardStatus: 'ACTIVE', balanceCents: 4321 });
    expect(await client.cardDetails('1000000021')).toEqual({ cardId: '1000000021', participantId: '', cardStatus: 'UNASSIGNED', balanceCents: 0 });
    await expect(client.cardDetails('1000000099')).rejects.toThrow(/CARD_NOT_FOUND/);
  });
});

describe('field limits as the sandbox sees them', () => {
  const invalid = (parameter: string) => ({ kind: 'declined', code: 'INVALID_PARAMETER', message: expect.stringMatching(new RegExp(`^${parameter}\\b`)) });

  it.each([
    ['cardId', { cardId: '1000000003' }, { cardId: '100000003' }],
    ['cardId', { cardId: '1000000003' }, { cardId: '10000000031' }],
    ['description', { description: 'd'.repeat(30) }, { description: 'd'.repeat(31) }],
    ['description', { description: '🩺'.repeat(30) }, { description: '🩺'.repeat(31) }],
    ['groupId', { groupId: 'g'.repeat(15) }, { groupId: 'g'.repeat(16) }],
  ] as const)('%s: %j is paid, %j is INVALID_PARAMETER', async (parameter, atLimit, pastLimit) => {
    expect((await pay(atLimit)).kind).toBe('paid');
    expect(await pay(pastLimit)).toEqual(invalid(parameter));
  });

  it('internalPaymentId (the payment id): 40 letters, digits, - or _', async () => {
    expect((await pay({}, { paymentId: `a-_${'9'.repeat(37)}` })).kind).toBe('paid');
    expect(await pay({}, { paymentId: 'i'.repeat(41) })).toEqual(invalid('internalPaymentId'));
    expect(await pay({}, { paymentId: 'pay#1' })).toEqual(invalid('internalPaymentId'));
  });

  it('amount: one cent is the least', async () => {
    expect((await pay({}, { amountCents: 1 })).kind).toBe('paid');
    expect(await pay({}, { amountCents: 0 })).toEqual(invalid('amount'));
    expect(sandbox.transactions().map((t) => t.amountCents)).toEqual([1]);
  });
});

describe('the parameters on the wire', () => {
  it('each call sends exactly the parameters CT Payer documents for it (docs/providers.md)', async () => {
    const sent: Record<string, string[]> = {};
    const context = contexts.context(sandbox.url, CREDENTIALS);
    const recording = ctpayer.createClient({
      ...context,
      send: (request: HttpRequest) => {
        const resource = new URL(request.url).pathname.replace(/^\/|\.php$/g, '');
        sent[resource] = [...new URLSearchParams(request.body)].map(([name]) => name).sort();
        return context.send(request);
      },
    });
    const fields = { cardId: '1000000001', description: 'Visit 1 stipend', groupId: 'STUDY-A' };

    expect(await recording.check()).toMatchObject({ status: 'ok' });
    expect(await recording.pay({ paymentId: 'wire-1', idempotencyKey: 'wire-1', amountCents: 500, fields })).toMatchObject({ kind: 'paid' });
    expect(await recording.reverse({ paymentId: 'wire-1', amountCents: 500, fields, paymentReference: 'ref', reason: 'Paid twice' })).toMatchObject({ kind: 'reversed' });
    expect(await recording.fundingBalanceCents()).toBe(5_000_000);
    expect(await recording.cardDetails('1000000001')).toMatchObject({ cardStatus: 'ACTIVE' });
    expect(await recording.assignCard('1000000021', 'P-0021')).toEqual({ kind: 'done' });
    expect(await recording.cancelCard('1000000003', 'Lost Card')).toEqual({ kind: 'done' });

    const withApiUser = ['apiusername', 'password', 'username'];
    expect(sent).toEqual({
      echo: ['password', 'username'],
      loadcard: [...withApiUser, 'amount', 'cardId', 'description', 'groupId', 'internalPaymentId'].sort(),
      chargecard: [...withApiUser, 'amount', 'cardId', 'reason'].sort(),
      getaccountbalance: withApiUser,
      getcarddetails: [...withApiUser, 'cardId'].sort(),
      assigncard: [...withApiUser, 'cardId', 'participantId'].sort(),
      setcardstatus: [...withApiUser, 'cardId', 'reason'].sort(),
    });
  });
});

describe('an error code CT Payer never documented (the policy in contract-rules.ts)', () => {
  it('makes a load unknown, never declined: the resend with the same internalPaymentId settles it, paid once', async () => {
    sandbox.setFaults([{ kind: 'code', code: 'LOAD_UNDER_REVIEW', applied: true, times: 1 }]);
    expect(await pay({}, { paymentId: 'odd-1' })).toEqual({ kind: 'unknown', code: 'LOAD_UNDER_REVIEW', message: expect.stringContaining('the payment may have been applied') });
    const [applied] = sandbox.transactions();
    expect(await pay({}, { paymentId: 'odd-1' })).toMatchObject({ kind: 'paid', reference: applied!.id, code: 'DUPLICATE_PAYMENT' });
    expect(sandbox.transactions()).toHaveLength(1);
  });

  it('makes a load that applied nothing unknown too: the adapter cannot tell, the resend pays it', async () => {
    sandbox.setFaults([{ kind: 'code', code: 'LOAD_UNDER_REVIEW', times: 1 }]);
    expect(await pay({}, { paymentId: 'odd-2' })).toMatchObject({ kind: 'unknown', code: 'LOAD_UNDER_REVIEW' });
    expect(sandbox.transactions()).toEqual([]);
    expect(await pay({}, { paymentId: 'odd-2' })).toMatchObject({ kind: 'paid', code: 'success' });
  });

  it('makes a card change refused (it moves no money; the card commands read the card before every try)', async () => {
    sandbox.setFaults([{ kind: 'code', code: 'CARD_LOCKED', paths: ['/assigncard.php'] }]);
    expect(await client.assignCard('1000000031', 'P-1')).toEqual({ kind: 'refused', code: 'CARD_LOCKED', message: expect.any(String) });
  });

  it('makes a balance read fail as no usable answer, naming the code', async () => {
    sandbox.setFaults([{ kind: 'code', code: 'BALANCE_OFFLINE', paths: ['/getaccountbalance.php'], times: 1 }]);
    await expect(client.fundingBalanceCents()).rejects.toThrow(/BALANCE_OFFLINE/);
    expect(await client.fundingBalanceCents()).toBe(5_000_000);
  });
});
