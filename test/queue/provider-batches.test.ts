import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { submitManifest } from '../../src/batches/submit.js';
import { waitForBatch } from '../../src/batches/wait.js';
import { PaymentLedger } from '../../src/ledger/payments.js';
import { writeReconciliation } from '../../src/reports/reconciliation.js';
import { parseReport, startStack, type TestStack } from '../helpers/stack.js';

/**
 * PT API, ClientPay and ONTRAPORT batches through workers and sandboxes: what each sandbox applied
 * equals the report's paid rows, and an in-doubt payment is settled each provider's own way.
 */

let stack: TestStack;
beforeAll(async () => {
  stack = await startStack({ providers: ['ptapi', 'clientpay', 'ontraport'] });
  await stack.startWorkers();
});
afterAll(() => stack?.close());
// Faults are cleared, not the sandboxes reset: a reset also ends the sessions the workers hold,
// which would change what the next case's first call meets. Cases use payees of their own.
beforeEach(() => {
  for (const sandbox of Object.values(stack.sandboxes)) sandbox.setFaults([]);
});

const unique = () => Math.random().toString(36).slice(2, 8);

async function pay(provider: string, lines: string[]) {
  const file = await stack.manifest(`${provider}-${unique()}.csv`, lines.join('\n'));
  const result = await submitManifest(stack.context, { file, account: stack.account(provider) });
  if (!result.accepted) throw new Error(`manifest rejected: ${JSON.stringify(result.scan)}`);
  await waitForBatch(stack.context, result.batchId, { pollMs: 50 });
  const report = await writeReconciliation(stack.context, result.batchId, stack.dir);
  const rows = parseReport(await readFile(report.csv, 'utf8'));
  return new Map(rows.map((r) => [r.payment_id!, r]));
}

/** The sandbox's applied loads to this batch's payees as [payee, cents, id], and the report's paid rows the same way. */
function reconcile(provider: string, rows: Map<string, Record<string, string>>) {
  const payees = new Set([...rows.values()].map((r) => r.payee));
  const applied = stack.sandboxes[provider]!.transactions().filter((t) => t.kind === 'load' && payees.has(t.payee)).map((t) => [t.payee, t.amountCents, t.id]);
  const paid = [...rows.values()].filter((r) => r.status === 'paid').map((r) => [r.payee, Number(r.amount_cents), r.provider_reference]);
  return { applied: applied.sort(), paid: paid.sort() };
}

describe('PT API', () => {
  const HEADER = 'payment_id,cardholderId,customerId,programId,description,amount';

  it('pays and declines; the sandbox applied exactly the paid rows', async () => {
    const u = unique();
    const rows = await pay('ptapi', [HEADER, `${u}-1,CH0001,C200,PR300,Visit 1 stipend,25.00`, `${u}-2,CH0002,C200,PR300,Mileage,12.34`, `${u}-3,CH0021,C200,PR300,Visit 1 stipend,10.00`]);
    expect(rows.get(`${u}-1`)?.status).toBe('paid');
    expect(rows.get(`${u}-2`)?.status).toBe('paid');
    expect(rows.get(`${u}-3`)).toMatchObject({ status: 'declined', provider_code: 'CARDHOLDER_INACTIVE' });
    const { applied, paid } = reconcile('ptapi', rows);
    expect(applied).toEqual(paid);
  });

  it('settles a lost answer by looking the load up: found → paid without a second load', async () => {
    const u = unique();
    stack.sandboxes.ptapi!.setFaults([{ kind: 'drop-after', times: 1, match: { externalId: `${u}-1` } }]);
    const rows = await pay('ptapi', [HEADER, `${u}-1,CH0003,C200,PR300,Visit 2 stipend,40.00`]);
    // One call could move money (the lost one); the lookup that settled it could not.
    expect(rows.get(`${u}-1`)).toMatchObject({ status: 'paid', provider_code: 'FOUND_BY_LOOKUP', attempts: '1' });
    const loads = stack.sandboxes.ptapi!.transactions().filter((t) => t.payee === 'CH0003');
    expect(loads).toHaveLength(1);
    expect(rows.get(`${u}-1`)!.provider_reference).toBe(loads[0]!.id);
  });

  it('settles a lost request by looking it up: not found → sent again, paid once', async () => {
    const u = unique();
    stack.sandboxes.ptapi!.setFaults([{ kind: 'drop-before', times: 1, match: { externalId: `${u}-1` } }]);
    const rows = await pay('ptapi', [HEADER, `${u}-1,CH0004,C200,PR300,Visit 2 stipend,41.00`]);
    expect(rows.get(`${u}-1`)).toMatchObject({ status: 'paid', attempts: '2' });
    expect(stack.sandboxes.ptapi!.transactions().filter((t) => t.payee === 'CH0004')).toHaveLength(1);
  });
});

describe('ClientPay', () => {
  const HEADER = 'payment_id,payeeToken,referenceNumber,description,amount';

  it('pays and declines; the sandbox applied exactly the paid rows', async () => {
    const u = unique();
    const rows = await pay('clientpay', [HEADER, `${u}-1,PT-0001,REF-1,Visit 1 stipend,25.00`, `${u}-2,PT-0002,REF-2,Visit 1 stipend,0.99`, `${u}-3,PT-0021,REF-3,Visit 1 stipend,5.00`]);
    expect(rows.get(`${u}-1`)?.status).toBe('paid');
    expect(rows.get(`${u}-3`)?.status).toBe('declined');
    const { applied, paid } = reconcile('clientpay', rows);
    expect(applied).toEqual(paid);
  });

  it('resends a payment whose answer was lost with the same requestId, and is paid once', async () => {
    const u = unique();
    stack.sandboxes.clientpay!.setFaults([{ kind: 'drop-after', times: 1, match: { payeeToken: 'PT-0005' } }]);
    const rows = await pay('clientpay', [HEADER, `${u}-1,PT-0005,REF-5,Visit 2 stipend,33.00`]);
    expect(rows.get(`${u}-1`)).toMatchObject({ status: 'paid', attempts: '2' });
    const batchId = rows.get(`${u}-1`)!.batch_id!;
    const applied = stack.sandboxes.clientpay!.transactions().filter((t) => t.payee === 'PT-0005');
    expect(applied).toHaveLength(1);
    // The requestId the ledger kept before the first call is the one the sandbox applied.
    const ledger = new PaymentLedger(stack.context.redis, stack.context.keys, 'clientpay', 'main', stack.context.archive);
    expect((await ledger.get({ batchId, paymentId: `${u}-1` }))?.idem_key).toBe(applied[0]!.key);
  });
});

describe('ONTRAPORT', () => {
  const HEADER = 'payment_id,contact_id,invoice_id,gateway_id,product_id,description,amount';

  it('pays, declines, and never resends a sale whose outcome is unknown', async () => {
    const u = unique();
    const rows = await pay('ontraport', [
      HEADER,
      `${u}-1,129001,1,1720,1,Visit 1 stipend,25.00`,
      `${u}-2,129021,1,1720,1,Visit 1 stipend,10.00`,
      `${u}-3,129002,1,1721,1,Visit 1 stipend,10.00`,
      `${u}-4,129003,1,1724,1,Visit 1 stipend,15.00`,
    ]);
    expect(rows.get(`${u}-1`)?.status).toBe('paid');
    expect(rows.get(`${u}-2`)).toMatchObject({ status: 'declined', provider_code: '2' });
    expect(rows.get(`${u}-3`)).toMatchObject({ status: 'declined', provider_code: '3' });
    expect(rows.get(`${u}-4`)).toMatchObject({ status: 'unknown', provider_code: '7', attempts: '1' });
    // Result 7 hid a real charge: the person settling the unknown row will find it.
    expect(stack.sandboxes.ontraport!.transactions().map((t) => [t.payee, t.amountCents]).sort()).toEqual([['129001', 2500], ['129003', 1500]]);
    const sales = stack.sandboxes.ontraport!.requests().filter((r) => r.path === '/payments.php');
    expect(sales.filter((r) => r.status === 200)).toHaveLength(4);
  });
});
