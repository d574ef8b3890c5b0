import { describe, expect, it } from 'vitest';
import { ontraport, type OntraportClient, type OntraportCredentials, type OntraportFields } from '../../src/providers/ontraport.js';
import type { HttpRequest } from '../../src/providers/http.js';
import type { RunningSandbox } from '../../src/sandbox/index.js';
import { sandboxPerFile } from '../helpers/client-context.js';
import { itTreatsLostAnswersAsUnknown } from '../helpers/contract-cases.js';

/** The real ONTRAPORT adapter against the ONTRAPORT sandbox over HTTP: every result code and every fault. */

const CREDENTIALS: OntraportCredentials = { appid: 'sandbox-app', key: 'sandbox-key' };
const WRONG_KEY: OntraportCredentials = { ...CREDENTIALS, key: 'wrong-key' };

let sandbox: RunningSandbox;
let client: OntraportClient;
const contexts = sandboxPerFile('ontraport', (started) => {
  sandbox = started;
  client = clientWith();
});

/** A client over real HTTP; `sent` collects every request it makes, as it went on the wire. */
function clientWith(options: { credentials?: OntraportCredentials; timeoutMs?: number; sent?: HttpRequest[] } = {}): OntraportClient {
  const context = contexts.context(sandbox.url, options.credentials ?? CREDENTIALS, options);
  const send: typeof context.send = (request) => {
    options.sent?.push(request);
    return context.send(request);
  };
  return ontraport.createClient({ ...context, send });
}

function pay(fields: Partial<OntraportFields> = {}, amountCents = 1250, payer = client) {
  return payer.pay({
    paymentId: 'not-sent-to-ontraport',
    idempotencyKey: 'not-sent-to-ontraport',
    amountCents,
    fields: { contact_id: '129001', invoice_id: '1', gateway_id: '1720', product_id: '1', description: 'Visit 1 stipend', ...fields },
  });
}
const contacts = () => (sandbox.state() as { accounts: { contacts: { id: number; chargedCents: number }[] }[] }).accounts[0]!.contacts;
const charged = (contactId: number) => contacts().find((c) => c.id === contactId)!.chargedCents;
const chargedInAll = () => contacts().reduce((sum, c) => sum + c.chargedCents, 0);

describe('the sale on the wire', () => {
  it('posts appid, key, reqType=sale and the documented data JSON; no card details, no description', async () => {
    const sent: HttpRequest[] = [];
    await pay({ contact_id: '129002', invoice_id: '2', product_id: '2' }, 105, clientWith({ sent }));
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({ method: 'POST', url: `${sandbox.url}/payments.php`, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    const form = Object.fromEntries(new URLSearchParams(sent[0]!.body));
    expect(Object.keys(form)).toEqual(['appid', 'key', 'reqType', 'data']);
    expect(form).toMatchObject({ appid: 'sandbox-app', key: 'sandbox-key', reqType: 'sale' });
    expect(form.data).toBe('{"contact_id":129002,"invoice_id":2,"gateway_id":1720,"use_card_on_file":"yes","products":[{"id":"2","quantity":"1","price":"1.05","type":"single"}]}');
  });
});

describe('every result code, mapped', () => {
  it.each([
    ['1', 'paid', 'gateway 1720 (works)', {}, 1],
    ['2', 'declined', 'a contact without a card on file', { contact_id: '129021' }, 0],
    ['2', 'declined', 'an unknown contact', { contact_id: '129999' }, 0],
    ['2', 'declined', 'an unknown invoice template', { invoice_id: '9' }, 0],
    ['3', 'declined', 'gateway 1721 (misconfigured)', { gateway_id: '1721' }, 0],
    ['6', 'declined', 'gateway 1722 (bad gateway credentials)', { gateway_id: '1722' }, 0],
    ['5', 'unknown', 'gateway 1723 (remote gateway api problem; nothing applied)', { gateway_id: '1723' }, 0],
    ['7', 'unknown', 'gateway 1724 (connection lost after the charge: applied)', { gateway_id: '1724' }, 1],
  ] as const)('%s → %s for %s', async (code, kind, _, fields, applied) => {
    const outcome = await pay(fields, 4321);
    expect(outcome).toMatchObject({ kind, code, message: expect.any(String) });
    expect(sandbox.transactions()).toHaveLength(applied);
    expect(chargedInAll()).toBe(applied * 4321);
  });

  it('4 ("problem with our api", the retryable fault) → retryable, not throttled, nothing applied', async () => {
    sandbox.setFaults([{ kind: 'retryable' }]);
    expect(await pay()).toEqual({ kind: 'retryable', code: '4', message: expect.stringContaining('Problem with our api'), throttled: false });
    expect(sandbox.transactions()).toEqual([]);
  });
});

it('an undocumented result_code → unknown, never declined (the policy in contract-rules.ts): the sale may have been charged', async () => {
  sandbox.setFaults([{ kind: 'code', code: '9', applied: true, times: 1 }]);
  expect(await pay({}, 1250)).toEqual({ kind: 'unknown', code: '9', message: expect.stringContaining('the payment may have been applied') });
  expect(sandbox.transactions()).toHaveLength(1);
});

describe('paid', () => {
  it('is paid with the transaction_id, the contact charged by exactly the amount', async () => {
    const outcome = await pay({ contact_id: '129004' }, 1999);
    const [applied] = sandbox.transactions();
    expect(outcome).toEqual({ kind: 'paid', reference: applied!.id, code: '1', message: expect.stringContaining('Good') });
    expect(applied).toMatchObject({ kind: 'load', account: 'sandbox', payee: '129004', amountCents: 1999 });
    expect(charged(129004)).toBe(1999);
  });

  it('pays again when sent again: ONTRAPORT has no idempotency key', async () => {
    await pay();
    await pay();
    expect(sandbox.transactions().map((t) => t.amountCents)).toEqual([1250, 1250]);
    expect(charged(129001)).toBe(2500);
  });
});

describe('retryable (nothing applied)', () => {
  it('HTTP 429 from a throttle, and from the account rate limit, is throttled with the Retry-After', async () => {
    sandbox.setFaults([{ kind: 'throttle', retryAfterSeconds: 3 }]);
    expect(await pay()).toEqual({ kind: 'retryable', code: 'HTTP_429', message: expect.any(String), throttled: true, retryAfterMs: 3000 });
    sandbox.setFaults([]);
    sandbox.setRateLimit({ max: 1, perMs: 60_000 });
    expect((await pay()).kind).toBe('paid');
    expect(await pay()).toMatchObject({ kind: 'retryable', code: 'HTTP_429', throttled: true, retryAfterMs: 60_000 });
    expect(sandbox.transactions()).toHaveLength(1);
  });

  it('a refused appid/key (HTTP 401) is retryable, not throttled, and the key is in no message', async () => {
    const outcome = await pay({}, 1250, clientWith({ credentials: WRONG_KEY }));
    expect(outcome).toEqual({ kind: 'retryable', code: 'HTTP_401', message: expect.any(String), throttled: false });
    expect(JSON.stringify(outcome)).not.toMatch(/wrong-key|sandbox-app/);
    expect(sandbox.transactions()).toEqual([]);
  });
});

describe('unknown (may have applied)', () => {
  itTreatsLostAnswersAsUnknown({ sandbox: () => sandbox, pay: async () => () => pay(), moved: () => charged(129001), cents: 1250 });

  it('no answer within the timeout', async () => {
    sandbox.setFaults([{ kind: 'latency', latencyMs: 400 }]);
    expect(await pay({}, 1250, clientWith({ timeoutMs: 100 }))).toMatchObject({ kind: 'unknown', code: 'NO_RESPONSE' });
  });
});

describe('calls that move no money', () => {
  it('listGateways reads the account as [{id, name}]', async () => {
    expect(await client.listGateways()).toEqual([
      { id: '1720', name: 'Stipend gateway' },
      { id: '1721', name: 'Misconfigured gateway' },
      { id: '1722', name: 'Bad credentials gateway' },
      { id: '1723', name: 'Flaky remote gateway' },
      { id: '1724', name: 'Dropped-connection gateway' },
    ]);
    await expect(clientWith({ credentials: WRONG_KEY }).listGateways()).rejects.toThrow(/^ONTRAPORT list_gateways: HTTP 401/);
  });

  it('check() is list_gateways: ok with the number of gateways, failed for a refused key', async () => {
    expect(await client.check()).toEqual({ status: 'ok', detail: 'list_gateways answered: 5 gateways' });
    const failed = await clientWith({ credentials: WRONG_KEY }).check();
    expect(failed).toEqual({ status: 'failed', detail: expect.stringContaining('HTTP 401') });
    expect(failed.detail).not.toContain('wrong-key');
    sandbox.setFaults([{ kind: 'garbage', paths: ['/payments.php'], match: { reqType: 'list_gateways' } }]);
    expect(await client.check()).toEqual({ status: 'failed', detail: expect.stringContaining('not a list') });
    expect(sandbox.transactions()).toEqual([]);
  });
});
