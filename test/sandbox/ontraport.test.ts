import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { fixturePath } from '../../src/package-root.js';
import { startSandbox, type RunningSandbox } from '../../src/sandbox/index.js';

/** The ONTRAPORT sandbox on the wire, as its API documentation and docs/providers.md ("ONTRAPORT") describe it. */

// The default seed plus a second ONTRAPORT account, so the per-appid rate limit shows.
let sandbox: RunningSandbox;
beforeAll(async () => {
  const seed = JSON.parse(await readFile(fixturePath('ontraport', 'sandbox.json'), 'utf8'));
  seed.accounts.push({ label: 'other', appid: 'other-app', key: 'other-key', gateways: [], invoices: [], products: [], contacts: [] });
  sandbox = await startSandbox('ontraport', { port: 0, seed });
});
afterAll(() => sandbox?.close());
beforeEach(() => sandbox.reset());

const CREDENTIALS = { appid: 'sandbox-app', key: 'sandbox-key' };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function post(params: Record<string, string>, credentials: Record<string, string> = CREDENTIALS) {
  const response = await fetch(`${sandbox.url}/payments.php`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ ...credentials, ...params }),
  });
  const text = await response.text();
  // JSON except for the server-error fault's plain-text body.
  const body = (response.headers.get('content-type') === 'application/json' ? JSON.parse(text) : text) as Record<string, unknown>;
  return { status: response.status, retryAfter: response.headers.get('retry-after'), body };
}
const DATA = {
  contact_id: 129001,
  invoice_id: 1,
  gateway_id: 1720,
  use_card_on_file: 'yes',
  products: [{ id: '1', quantity: '1', price: '12.50', type: 'single' }],
};
const sale = (data: Record<string, unknown> = {}) => post({ reqType: 'sale', data: JSON.stringify({ ...DATA, ...data }) });
const product = (change: Record<string, unknown>) => ({ products: [{ ...DATA.products[0], ...change }] });
const resultCode = async (answer: Promise<{ body: Record<string, unknown> }>) => (await answer).body.result_code;
const charged = (contactId: number) =>
  (sandbox.state() as { accounts: { contacts: { id: number; chargedCents: number }[] }[] }).accounts[0]!.contacts.find((c) => c.id === contactId)!.chargedCents;

describe('seed and the listing requests', () => {
  it('list_gateways and list_invoices answer the seeded [{id, name}]', async () => {
    expect(await post({ reqType: 'list_gateways' })).toMatchObject({
      status: 200,
      body: [
        { id: 1720, name: 'Stipend gateway' },
        { id: 1721, name: 'Misconfigured gateway' },
        { id: 1722, name: 'Bad credentials gateway' },
        { id: 1723, name: 'Flaky remote gateway' },
        { id: 1724, name: 'Dropped-connection gateway' },
      ],
    });
    expect((await post({ reqType: 'list_invoices' })).body).toEqual([{ id: 1, name: 'Stipend' }, { id: 2, name: 'Reimbursement' }]);
  });

  it('contacts 129001-129020 have a card on file, 129021 has none', () => {
    const contacts = (sandbox.state() as { accounts: { label: string; contacts: { id: number; cardOnFile: boolean }[] }[] }).accounts[0]!;
    expect(contacts.label).toBe('sandbox');
    expect(contacts.contacts.filter((c) => c.cardOnFile).map((c) => c.id)).toEqual(Array.from({ length: 20 }, (_, i) => 129001 + i));
    expect(contacts.contacts.filter((c) => !c.cardOnFile).map((c) => c.id)).toEqual([129021]);
  });

  it('refuses another reqType with HTTP 400, another path with 404 and GET with 405', async () => {
    expect(await post({ reqType: 'add' })).toMatchObject({ status: 400, body: { error: expect.stringContaining('reqType') } });
    expect((await fetch(`${sandbox.url}/payments.php`)).status).toBe(405);
    expect((await fetch(`${sandbox.url}/api.php`, { method: 'POST' })).status).toBe(404);
  });
});

describe('authentication', () => {
  it('answers HTTP 401 {error} for a wrong key, an unknown appid or none, logging no key', async () => {
    for (const credentials of [{ ...CREDENTIALS, key: 'wrong-key' }, { appid: 'nobody', key: 'sandbox-key' }, {}]) {
      for (const reqType of ['sale', 'list_gateways']) {
        const answer = await post({ reqType, data: JSON.stringify(DATA) }, credentials);
        expect(answer).toMatchObject({ status: 401, body: { error: 'appid and key do not match an ONTRAPORT account' } });
      }
    }
    expect(sandbox.transactions()).toEqual([]);
    // A wrong key still names its account (whose rate limit it counts against); an unknown appid does not.
    expect(sandbox.requests().map((r) => r.account)).toEqual(['sandbox', 'sandbox', undefined, undefined, undefined, undefined]);
    expect(JSON.stringify([sandbox.requests(), sandbox.transactions(), sandbox.state()])).not.toMatch(/sandbox-key|wrong-key|sandbox-app/);
  });
});

describe('sale', () => {
  it('charges the contact\'s card on file and answers result_code 1 with the transaction ids', async () => {
    const answer = await sale();
    expect(answer).toEqual({
      status: 200,
      retryAfter: null,
      body: { result_code: 1, transaction_id: expect.stringMatching(/^\d+$/), external_txn: expect.stringMatching(/^GW1720-/), message: expect.any(String), contact_id: 129001 },
    });
    expect(sandbox.transactions()).toEqual([
      { id: answer.body.transaction_id, kind: 'load', account: 'sandbox', payee: '129001', amountCents: 1250, description: 'Stipend', at: expect.any(String) },
    ]);
    expect(charged(129001)).toBe(1250);
  });

  it('takes ids as numbers or digit strings and charges price × quantity over all products', async () => {
    const answer = await sale({
      contact_id: '129002',
      invoice_id: '2',
      gateway_id: '1720',
      products: [
        { id: 1, quantity: 2, price: '10.05', type: 'single' },
        { id: '2', quantity: '1', price: '0.01', type: 'single' },
      ],
    });
    expect(answer.body).toMatchObject({ result_code: 1, contact_id: 129002 });
    expect(sandbox.transactions()).toMatchObject([{ payee: '129002', amountCents: 2011, description: 'Reimbursement' }]);
  });

  it('is not idempotent: the same sale sent twice charges twice', async () => {
    const ids = [(await sale()).body.transaction_id, (await sale()).body.transaction_id];
    expect(new Set(ids).size).toBe(2);
    expect(charged(129001)).toBe(2500);
  });

  it.each([
    ['a contact without a card on file', { contact_id: 129021 }, 'contact 129021 has no credit card on file'],
    ['an unknown contact', { contact_id: 129999 }, 'no contact 129999'],
    ['an unknown invoice template', { invoice_id: 9 }, 'no invoice template 9'],
    ['an unknown product', product({ id: '7' }), 'no product 7'],
    ['an unknown gateway', { gateway_id: 1799 }, 'no gateway 1799'],
    ['a price without two decimals', product({ price: '12.5' }), 'data.products.0.price must be a string of dollars'],
    ['a price of 0.00', product({ price: '0.00' }), 'data.products.0.price must be'],
    ['a price as a number', product({ price: 12.5 }), 'data.products.0.price must be'],
    ['a quantity of 0', product({ quantity: '0' }), 'data.products.0.quantity must be a whole number'],
    ['a subscription', product({ type: 'subscription' }), 'data.products.0.type must be "single"'],
    ['no products', { products: [] }, 'data.products must hold at least one product'],
    ['a contact id that is not a number', { contact_id: 'C-1' }, 'data.contact_id must be a positive whole number'],
    ['card_details', { card_details: { card_number: '4111111111111111' } }, 'data.card_details is not accepted'],
    ['neither card_details nor use_card_on_file', { use_card_on_file: undefined }, 'data.use_card_on_file or card_details is required'],
  ])('answers result_code 2 (bad data) for %s, charging nothing', async (_, data, message) => {
    const answer = await sale(data);
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ result_code: 2, transaction_id: null, external_txn: null });
    expect(answer.body.message).toContain(message);
    expect(sandbox.transactions()).toEqual([]);
  });

  it('answers result_code 2 for a missing or unreadable data field', async () => {
    expect((await post({ reqType: 'sale' })).body).toMatchObject({ result_code: 2, message: 'data is required', contact_id: null });
    expect((await post({ reqType: 'sale', data: '{"contact_id":' })).body).toMatchObject({ result_code: 2, message: 'data is not JSON' });
    expect((await post({ reqType: 'sale', data: '[1]' })).body).toMatchObject({ result_code: 2, message: 'data must be a JSON object' });
  });

  it('answers each gateway\'s seeded failure: 3, 6 and 5 charge nothing; 7 charged but gives no ids', async () => {
    for (const [gateway_id, code] of [[1721, 3], [1722, 6], [1723, 5]]) {
      expect((await sale({ gateway_id })).body).toMatchObject({ result_code: code, transaction_id: null, external_txn: null, contact_id: 129001 });
    }
    expect(sandbox.transactions()).toEqual([]);

    const lost = await sale({ gateway_id: 1724 });
    expect(lost).toMatchObject({ status: 200, body: { result_code: 7, transaction_id: null, external_txn: null, contact_id: 129001 } });
    expect(sandbox.transactions()).toMatchObject([{ kind: 'load', payee: '129001', amountCents: 1250 }]);
    expect(charged(129001)).toBe(1250);
  });

  it('checks the data before the gateway: a contact without a card is 2 even through a failing gateway', async () => {
    expect(await resultCode(sale({ contact_id: 129021, gateway_id: 1724 }))).toBe(2);
    expect(sandbox.transactions()).toEqual([]);
  });
});

describe('faults', () => {
  it('retryable is the documented result_code 4, HTTP 200, with nothing charged', async () => {
    sandbox.setFaults([{ kind: 'retryable', times: 1, match: { contact_id: '129003' } }]);
    expect(await sale({ contact_id: 129002 })).toMatchObject({ body: { result_code: 1 } });
    expect(await sale({ contact_id: 129003 })).toMatchObject({ status: 200, body: { result_code: 4, transaction_id: null, external_txn: null, contact_id: 129003 } });
    expect(sandbox.transactions()).toHaveLength(1);
    expect(await resultCode(sale({ contact_id: 129003 }))).toBe(1);
  });

  it('targets sales by default, not the listings; reqType and gateway_id can be matched', async () => {
    sandbox.setFaults([{ kind: 'server-error' }]);
    expect((await post({ reqType: 'list_gateways' })).status).toBe(200);
    expect((await sale()).status).toBe(500);

    sandbox.setFaults([{ kind: 'throttle', paths: ['/payments.php'], match: { reqType: 'list_invoices' } }]);
    expect((await post({ reqType: 'list_invoices' })).status).toBe(429);
    expect((await post({ reqType: 'list_gateways' })).status).toBe(200);

    sandbox.setFaults([{ kind: 'retryable', match: { gateway_id: '1720' } }]);
    expect(await resultCode(sale())).toBe(4);
    expect(await resultCode(sale({ gateway_id: 1721 }))).toBe(3);
  });
});

describe('rate limit: a sliding window per appid', () => {
  it('refuses the 6th request inside any 1000 ms with HTTP 429 and Retry-After, not only at fixed window edges', async () => {
    sandbox.setRateLimit({ max: 5, perMs: 1000 });
    const start = Date.now();
    const burst = () => Promise.all(Array.from({ length: 5 }, () => sale()));

    expect((await burst()).map((a) => a.status)).toEqual([200, 200, 200, 200, 200]);
    // ~600 ms later: a fixed one-second window could have started afresh in between; the sliding
    // window still holds the five of t≈0 and refuses all five, each saying when to come back.
    await sleep(600 - (Date.now() - start));
    const refused = await burst();
    expect(refused.map((a) => [a.status, a.retryAfter])).toEqual(Array(5).fill([429, '1']));
    expect(refused[0]!.body).toMatchObject({ retryAfterSeconds: 1 });
    // Another appid has a window of its own.
    expect((await post({ reqType: 'list_gateways' }, { appid: 'other-app', key: 'other-key' })).status).toBe(200);

    // Once the five of t≈0 have left the window (the refused ones took no slot), five more fit; a sixth does not.
    await sleep(1200 - (Date.now() - start));
    expect((await burst()).map((a) => a.status)).toEqual([200, 200, 200, 200, 200]);
    expect((await post({ reqType: 'list_gateways' })).status).toBe(429);

    expect(sandbox.transactions()).toHaveLength(10);
    const admitted = sandbox.requests().filter((r) => r.status === 200 && r.account === 'sandbox').map((r) => r.at);
    expect(Math.max(...admitted.map((t) => admitted.filter((u) => u >= t && u < t + 1000).length))).toBe(5);
  });
});
