import { afterAll, beforeAll, expect, it } from 'vitest';
import { personHere } from '../../src/audit/actor.js';
import { resolvePayment } from '../../src/batches/settle.js';
import { submitManifest } from '../../src/batches/submit.js';
import { waitForBatch } from '../../src/batches/wait.js';
import { startDashboard, type RunningDashboard } from '../../src/dashboard/server.js';
import type { PaymentRef } from '../../src/ledger/payments.js';
import { createLogger } from '../../src/log.js';
import { startStack, type TestStack } from '../helpers/stack.js';

/**
 * /metrics counts the payments that got a paid answer the ledger could not take (a late paid after
 * a not-paid verdict, a second paid with another reference), per provider and account, so that an
 * alert can call a person; the payment gauges keep the statuses people gave those rows.
 */

const silent = createLogger({ level: 'silent' });
let stack: TestStack;
let dashboard: RunningDashboard;
let batchId: string;

beforeAll(async () => {
  stack = await startStack({ providers: ['ctpayer', 'virtualrx'] });
  // Every VirtualRx answer is lost after the sandbox applied the payment: its rows end unknown.
  stack.sandboxes.virtualrx!.setFaults([{ kind: 'drop-after', rate: 1 }]);
  await stack.startWorkers();
  dashboard = await startDashboard({ config: stack.config, host: '127.0.0.1', port: 0, engineers: { kind: 'open' }, readOnly: true, log: silent });
  const manifests = {
    virtualrx: ['payment_id,CustId,ProgramId,ClaimReferenceNumber,ClientGroupID,amount_cents', 'm-1,20230226001,7311,CLM-1,GRP-1,1500', 'm-2,20230226002,7311,CLM-2,GRP-1,2500'],
    ctpayer: ['payment_id,cardId,amount_cents,description', 'm-3,1000000001,700,Visit 1'],
  };
  for (const [provider, lines] of Object.entries(manifests)) {
    const submitted = await submitManifest(stack.context, { file: await stack.manifest(`${provider}.csv`, lines.join('\n')), account: stack.account(provider) });
    if (!submitted.accepted) throw new Error('manifest refused');
    await waitForBatch(stack.context, submitted.batchId, { pollMs: 50 });
    if (provider === 'virtualrx') batchId = submitted.batchId;
  }
});
afterAll(async () => {
  await dashboard?.close();
  await stack?.close();
});

const ref = (paymentId: string): PaymentRef => ({ batchId, paymentId });

/** The provider's answer to the cut-off call arriving at last, as the worker records it. */
async function lateAnswer(paymentId: string, reference: string): Promise<void> {
  const ledger = stack.context.payments(stack.account('virtualrx'));
  await ledger.finalize(ref(paymentId), { status: 'paid', reference, code: '0', message: 'Payment accepted' });
}

async function scrape(): Promise<Map<string, number>> {
  const text = await (await fetch(`${dashboard.url}/metrics`)).text();
  return new Map(text.split('\n').filter((l) => l !== '' && !l.startsWith('#')).map((l) => [l.slice(0, l.lastIndexOf(' ')), Number(l.slice(l.lastIndexOf(' ') + 1))]));
}

it('counts conflicting paid answers by provider and account, zero included, and leaves the status gauges to the verdicts', { timeout: 60_000 }, async () => {
  const conflicts = (provider: string) => scrape().then((s) => s.get(`stipend_payment_conflicts{provider="${provider}",account="main"}`));
  // Before any conflict, every account with a batch already shows 0, so an alert has a series to watch.
  expect([await conflicts('virtualrx'), await conflicts('ctpayer')]).toEqual([0, 0]);

  const [first, second] = stack.sandboxes.virtualrx!.transactions().map((t) => t.id);
  await resolvePayment(stack.context, ref('m-1'), { notPaid: true }, personHere('alice'));
  await lateAnswer('m-1', first!);
  expect(await conflicts('virtualrx')).toBe(1);
  await resolvePayment(stack.context, ref('m-2'), { paid: second! }, personHere('alice'));
  await lateAnswer('m-2', 'VRX-ANOTHER');

  const series = await scrape();
  expect(series.get('stipend_payment_conflicts{provider="virtualrx",account="main"}')).toBe(2);
  expect(series.get('stipend_payment_conflicts{provider="ctpayer",account="main"}')).toBe(0);
  const virtualrx = (status: string) => series.get(`stipend_payments{provider="virtualrx",account="main",status="${status}"}`);
  expect([virtualrx('paid'), virtualrx('failed'), virtualrx('unknown')]).toEqual([1, 1, 0]);
  expect(series.get('stipend_payments_cents{provider="virtualrx",account="main",status="paid"}')).toBe(2500);
});
