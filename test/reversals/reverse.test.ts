import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { personHere } from '../../src/audit/actor.js';
import { submitManifest } from '../../src/batches/submit.js';
import { waitForBatch } from '../../src/batches/wait.js';
import { ReversalRefusedError, UsageError } from '../../src/errors.js';
import { ReversalLedger } from '../../src/ledger/reversals.js';
import { writeFinanceExport } from '../../src/reports/finance-export.js';
import { writeReconciliation } from '../../src/reports/reconciliation.js';
import { resolveReversal } from '../../src/reversals/resolve.js';
import { isFailure, reversePayments } from '../../src/reversals/reverse.js';
import { parseReport, startStack, type TestStack } from '../helpers/stack.js';

/**
 * `stipend reverse` end to end: real workers pay a batch through the sandboxes, then reversals go
 * over HTTP through the account's gate, and the sandboxes' balances show the money came back once.
 */

let stack: TestStack;
beforeAll(async () => {
  stack = await startStack({ providers: ['ctpayer', 'virtualrx', 'ptapi'] });
  await stack.startWorkers();
});
afterAll(() => stack?.close());

const REASON = 'Paid to the wrong participant';
const HEADERS = {
  ctpayer: 'payment_id,cardId,amount_cents,description',
  virtualrx: 'payment_id,CustId,ProgramId,ClaimReferenceNumber,ClientGroupID,amount_cents',
  ptapi: 'payment_id,cardholderId,customerId,programId,amount_cents,description',
};

let files = 0;
async function submit(provider: keyof typeof HEADERS, rows: string[]): Promise<{ batchId: string; file: string }> {
  const file = await stack.manifest(`reverse-${(files += 1)}.csv`, [HEADERS[provider], ...rows].join('\n'));
  const submitted = await submitManifest(stack.context, { file, account: stack.account(provider) });
  if (!submitted.accepted) throw new Error('manifest refused');
  await waitForBatch(stack.context, submitted.batchId, { pollMs: 50 });
  return { batchId: submitted.batchId, file };
}

const reverse = (batchId: string, which: string[] | 'all', options: { reason?: string; by?: string } = {}) =>
  reversePayments(stack.context, { batchId, ...(which === 'all' ? { all: true } : { paymentIds: which }), reason: options.reason ?? REASON }, personHere(options.by ?? 'alice'));
const record = (provider: string, batchId: string, paymentId: string) => stack.context.payments(stack.account(provider)).get({ batchId, paymentId });

const ctpayer = () => stack.sandboxes.ctpayer!;
const ctState = () => ctpayer().state() as { accounts: { fundingBalanceCents: number; cards: { cardId: string; balanceCents: number }[] }[] };
const cardBalance = (cardId: string) => ctState().accounts[0]!.cards.find((c) => c.cardId === cardId)!.balanceCents;
const funding = () => ctState().accounts[0]!.fundingBalanceCents;
const customerBalance = (custId: string) => (stack.sandboxes.virtualrx!.state() as { customers: { CustId: string; balanceCents: number }[] }).customers.find((c) => c.CustId === custId)!.balanceCents;
const unloads = (provider: string, payee: string) => stack.sandboxes[provider]!.transactions().filter((t) => t.kind === 'unload' && t.payee === payee);
const loads = (provider: string, payee: string) => stack.sandboxes[provider]!.transactions().filter((t) => t.kind === 'load' && t.payee === payee);
const chargeRequests = () => ctpayer().requests().filter((r) => r.path === '/chargecard.php').length;

async function report(batchId: string) {
  const written = await writeReconciliation(stack.context, batchId, stack.dir);
  const rows = parseReport(await readFile(written.csv, 'utf8'));
  return { summary: written.summary, byId: new Map(rows.map((r) => [r.payment_id!, r])) };
}

describe('CT Payer (chargecard)', () => {
  it('a reversal moves the card balance back once; the ledger, the batch, the report and the finance export show it reversed', async () => {
    const { batchId, file } = await submit('ctpayer', ['ct-1,1000000003,1250,Visit 1', 'ct-2,1000000004,2000,Visit 1', 'ct-3,1000000022,500,Visit 1']);
    const fundingBefore = funding();
    expect(cardBalance('1000000003')).toBe(1250);

    const results = await reverse(batchId, ['ct-1']);
    const [unload] = unloads('ctpayer', '1000000003');
    expect(results).toEqual([{ paymentId: 'ct-1', amountCents: 1250, kind: 'reversed', reference: unload!.id }]);
    expect(unload).toMatchObject({ amountCents: 1250, description: REASON });
    expect(cardBalance('1000000003')).toBe(0);
    expect(funding()).toBe(fundingBefore + 1250);

    const reversed = await record('ctpayer', batchId, 'ct-1');
    expect(reversed).toMatchObject({ status: 'reversed', reversal_reference: unload!.id, reversal_by: 'alice', reversal_reason: REASON, reference: loads('ctpayer', '1000000003')[0]!.id });
    expect(reversed?.reversal_settled_at).toMatch(/^\d{4}-/);
    expect(await stack.context.batches.get(batchId)).toMatchObject({ final: 3, n_paid: 1, c_paid: 2000, n_reversed: 1, c_reversed: 1250, n_reversing: 0, n_declined: 1 });

    const { byId, summary } = await report(batchId);
    expect(byId.get('ct-1')).toMatchObject({ status: 'reversed', provider_reference: reversed!.reference, reversal_reference: unload!.id, reversal_reason: REASON, reversal_by: 'alice', reversal_at: reversed!.reversal_settled_at });
    expect(summary).toMatchObject({ paid: { count: 1, cents: 2000 }, reversed: { count: 1, cents: 1250 } });

    // Never twice: refused by the ledger, no request, the balance unchanged.
    const requests = chargeRequests();
    const again = await reverse(batchId, ['ct-1'], { by: 'bob' });
    expect(again).toEqual([{ paymentId: 'ct-1', amountCents: 1250, kind: 'not_reversible', message: `already reversed on ${reversed!.reversal_settled_at} (reference ${unload!.id}) by alice` }]);
    expect(isFailure(again[0]!)).toBe(true);
    expect(chargeRequests()).toBe(requests);
    expect(unloads('ctpayer', '1000000003')).toHaveLength(1);
    expect(cardBalance('1000000003')).toBe(0);

    // A person reversed it on purpose: the same payment dropped again is not paid again.
    const redrop = await submit('ctpayer', ['ct-1,1000000003,1250,Visit 1', 'ct-2,1000000004,2000,Visit 1', 'ct-3,1000000022,500,Visit 1']);
    expect(redrop.file).not.toBe(file);
    const redropped = (await report(redrop.batchId)).byId.get('ct-1');
    expect(redropped).toMatchObject({ status: 'skipped_duplicate', message: expect.stringContaining('status reversed') });
    expect(loads('ctpayer', '1000000003')).toHaveLength(1);

    // Finance: paid when it was paid, and a negative reversed row when it was reversed.
    const today = new Date().toISOString().slice(0, 10);
    const out = join(stack.dir, 'finance.csv');
    const { totals } = await writeFinanceExport(stack.context, { from: today, to: today, groupBy: 'batch', out });
    expect(totals.filter((t) => t.group === batchId)).toEqual([
      { group: batchId, status: 'declined', payments: 1, cents: 500 },
      { group: batchId, status: 'paid', payments: 2, cents: 3250 },
      { group: batchId, status: 'reversed', payments: 1, cents: -1250 },
    ]);
    const rows = parseReport(await readFile(out, 'utf8')).filter((r) => r.batch_id === batchId && r.payment_id === 'ct-1');
    expect(rows.map((r) => [r.status, r.amount_cents, r.amount, r.provider_reference])).toEqual([
      ['paid', '1250', '12.50', reversed!.reference],
      ['reversed', '-1250', '-12.50', unload!.id],
    ]);
  });

  it('two reversals of one payment at once make exactly one provider call', async () => {
    const { batchId } = await submit('ctpayer', ['cc-1,1000000005,800,Visit 1']);
    const requests = chargeRequests();
    // The first call is still under way when the second one is ready to leave.
    ctpayer().setFaults([{ kind: 'latency', latencyMs: 300, paths: ['/chargecard.php'] }]);
    try {
      const [first, second] = await Promise.all([reverse(batchId, ['cc-1'], { by: 'alice' }), reverse(batchId, ['cc-1'], { by: 'bob' })]);
      const results = [...first!, ...second!];
      expect(results.map((r) => r.kind).sort()).toEqual(['not_reversible', 'reversed']);
      expect(results.find((r) => r.kind === 'not_reversible')).toMatchObject({ message: expect.stringMatching(/^already (being )?reversed/) });
    } finally {
      ctpayer().setFaults([]);
    }
    expect(chargeRequests()).toBe(requests + 1);
    expect(unloads('ctpayer', '1000000005')).toHaveLength(1);
    expect(cardBalance('1000000005')).toBe(0);
  });

  it('refuses a reason over CT Payer\'s 45 characters, an unknown payment and a missing choice before anything moves', async () => {
    const { batchId } = await submit('ctpayer', ['rs-1,1000000006,900,Visit 1']);
    const requests = ctpayer().requests().length;
    await expect(reverse(batchId, ['rs-1'], { reason: 'r'.repeat(46) })).rejects.toThrow(
      new ReversalRefusedError('--reason must be at most 45 characters (has 46) for CT Payer; nothing was reversed'),
    );
    await expect(reverse(batchId, ['rs-1', 'rs-nope'])).rejects.toThrow(new UsageError(`batch ${batchId} has no payment rs-nope; nothing was reversed`));
    await expect(reversePayments(stack.context, { batchId, reason: REASON }, personHere('alice'))).rejects.toThrow(/--payment-id <id> \(repeatable\) or --all/);
    await expect(reverse(batchId, ['rs-1'], { reason: 'line\nbreak' })).rejects.toThrow(ReversalRefusedError);
    await expect(reverse(batchId, ['rs-1'], { reason: 'Card 4111 1111 1111 1111 was lost' })).rejects.toThrow(/^--reason holds what looks like a full card number \(…1111\); card numbers are never recorded or sent; nothing was reversed$/);
    expect(ctpayer().requests()).toHaveLength(requests);
    const untouched = await record('ctpayer', batchId, 'rs-1');
    expect(untouched).toMatchObject({ status: 'paid' });
    expect(untouched?.reversal_by).toBeUndefined();
    expect(cardBalance('1000000006')).toBe(900);
  });

  it('a refusal (the participant spent the money) leaves the payment paid, with the refusal visible', async () => {
    const { batchId } = await submit('ctpayer', ['rf-1,1000000007,1000,Visit 1']);
    // The participant spends $4.00 of it at a shop (modelled as funds removed from the card).
    await fetch(`${ctpayer().url}/chargecard.php`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ username: 'sandbox', password: 'sandbox-password', apiusername: 'shop', cardId: '1000000007', amount: '4.00', reason: 'purchase' }).toString(),
    });
    const results = await reverse(batchId, ['rf-1']);
    expect(results).toEqual([{ paymentId: 'rf-1', amountCents: 1000, kind: 'refused', message: expect.stringMatching(/^INSUFFICIENT_FUNDS: /) }]);
    expect(await record('ctpayer', batchId, 'rf-1')).toMatchObject({ status: 'paid', reversal_code: 'INSUFFICIENT_FUNDS', reversal_by: 'alice' });
    expect(await stack.context.batches.get(batchId)).toMatchObject({ n_paid: 1, n_reversing: 0, n_reversed: 0 });
    expect((await report(batchId)).byId.get('rf-1')).toMatchObject({ status: 'paid', reversal_code: 'INSUFFICIENT_FUNDS', reversal_message: expect.stringContaining('less than') });
    expect(cardBalance('1000000007')).toBe(600);
  });

  it('a reversal whose answer is lost ends reversal_unknown, is never sent again, and a person settles it', async () => {
    const { batchId } = await submit('ctpayer', ['lo-1,1000000008,900,Visit 1']);
    const requests = chargeRequests();
    ctpayer().setFaults([{ kind: 'drop-after', times: 1, paths: ['/chargecard.php'] }]);
    const results = await reverse(batchId, ['lo-1']);
    expect(results).toEqual([{ paymentId: 'lo-1', amountCents: 900, kind: 'reversal_unknown', message: expect.stringMatching(/^NO_RESPONSE: /) }]);
    expect(await record('ctpayer', batchId, 'lo-1')).toMatchObject({ status: 'reversal_unknown', reversal_code: 'NO_RESPONSE' });
    // It did apply, but only a person can tell: nothing sends it again, not `reverse`, not `--all`.
    expect(cardBalance('1000000008')).toBe(0);
    expect((await reverse(batchId, ['lo-1']))[0]).toMatchObject({ kind: 'not_reversible', message: expect.stringContaining('may have applied; check with the provider') });
    const all = await reverse(batchId, 'all');
    expect(all).toMatchObject([{ kind: 'not_reversible' }]);
    expect(isFailure(all[0]!)).toBe(true);
    expect(chargeRequests()).toBe(requests + 1);
    expect(unloads('ctpayer', '1000000008')).toHaveLength(1);

    const reference = unloads('ctpayer', '1000000008')[0]!.id;
    const settled = await resolveReversal(stack.context, { batchId, paymentId: 'lo-1' }, { reversed: reference }, personHere('carol'));
    expect(settled).toMatchObject({ status: 'reversed', reversal_reference: reference, reversal_code: 'RESOLVED_REVERSED', reversal_resolved_by: 'carol' });
    await expect(resolveReversal(stack.context, { batchId, paymentId: 'lo-1' }, { notReversed: true }, personHere('dave'))).rejects.toThrow('cannot be resolved: it is reversed, not reversal_unknown');
    expect(await stack.context.batches.get(batchId)).toMatchObject({ n_reversed: 1, n_reversal_unknown: 0, final: 1 });
  });

  it('a reversal cut off mid-call (its run stopped) is refused while it may be under way, then settled as reversal_unknown', async () => {
    const { batchId } = await submit('ctpayer', ['cr-1,1000000009,700,Visit 1']);
    const ref = { batchId, paymentId: 'cr-1' };
    const ledger = new ReversalLedger(stack.context.redis, stack.context.keys, 'ctpayer', 'main');
    expect(await ledger.claim(ref, REASON, personHere('dave'))).toEqual({ epoch: expect.any(Number) });
    const requests = chargeRequests();
    expect((await reverse(batchId, ['cr-1']))[0]).toMatchObject({ kind: 'not_reversible', message: expect.stringMatching(/^already being reversed, by dave since /) });

    // Dave's process died long ago (longer than any call lasts, by Redis's clock).
    const [seconds] = await stack.context.redis.time();
    await stack.context.redis.hset(stack.context.keys.payment('ctpayer', 'main', batchId, 'cr-1'), 'reversal_ms', Number(seconds) * 1000 - 60_000);
    expect((await reverse(batchId, ['cr-1']))[0]).toMatchObject({ kind: 'not_reversible', message: expect.stringContaining('may have applied') });
    expect(await record('ctpayer', batchId, 'cr-1')).toMatchObject({ status: 'reversal_unknown', reversal_code: 'INTERRUPTED', reversal_by: 'dave' });
    expect(chargeRequests()).toBe(requests);

    // Checked with CT Payer: nothing came back. It is paid again, and can be reversed again.
    expect(await resolveReversal(stack.context, ref, { notReversed: true }, personHere('erin'))).toMatchObject({ status: 'paid', reversal_code: 'RESOLVED_NOT_REVERSED' });
    expect(await reverse(batchId, ['cr-1'])).toMatchObject([{ kind: 'reversed' }]);
    expect(cardBalance('1000000009')).toBe(0);
  });
});

describe('VirtualRx (VoidPayment)', () => {
  it('a void gives the money back once; --all reverses the rest through the account\'s rate limit and skips what holds nothing', async () => {
    const { batchId } = await submit('virtualrx', [
      'v-1,20230226001,7311,CLM-V1,G1,1500',
      'v-2,20230226002,7311,CLM-V2,G1,2500',
      'v-3,20230226003,7311,CLM-V3,G1,3500',
      'v-4,20230226004,7311,CLM-V4,G1,4500',
      'v-5,20230226021,7311,CLM-V5,G1,500',
    ]);
    const sandbox = stack.sandboxes.virtualrx!;
    expect(customerBalance('20230226001')).toBe(1500);

    const [result] = await reverse(batchId, ['v-1']);
    const [unload] = unloads('virtualrx', '20230226001');
    expect(result).toEqual({ paymentId: 'v-1', amountCents: 1500, kind: 'reversed', reference: unload!.id });
    expect(unload).toMatchObject({ amountCents: 1500, key: 'CLM-V1', description: REASON });
    expect(customerBalance('20230226001')).toBe(0);
    expect(await record('virtualrx', batchId, 'v-1')).toMatchObject({ status: 'reversed', reversal_reference: unload!.id });

    const requests = sandbox.requests().length;
    expect((await reverse(batchId, ['v-1']))[0]).toMatchObject({ kind: 'not_reversible', message: expect.stringMatching(/^already reversed on /) });
    expect(sandbox.requests()).toHaveLength(requests);

    const all = await reverse(batchId, 'all', { by: 'bob' });
    expect(all.map((r) => [r.paymentId, r.kind]).sort()).toEqual([['v-1', 'skipped'], ['v-2', 'reversed'], ['v-3', 'reversed'], ['v-4', 'reversed'], ['v-5', 'skipped']]);
    expect(all.some(isFailure)).toBe(false);
    for (const custId of ['20230226001', '20230226002', '20230226003', '20230226004']) {
      expect(customerBalance(custId)).toBe(0);
      expect(unloads('virtualrx', custId)).toHaveLength(1);
    }
    // Sent at once (the account's concurrency), they still left the account's gate spaced out: 50 ms
    // apart at 20 a second, 100 ms from first to last (unspaced, they would arrive within a few ms).
    // The sandbox sees arrivals, which a loaded machine brings closer when the first one is late
    // (CI once saw two 18 ms apart): half the span is what is asserted.
    const voids = sandbox.requests().slice(requests).map((r) => r.at);
    expect(voids).toHaveLength(3);
    expect(voids[2]! - voids[0]!).toBeGreaterThanOrEqual(50);
    expect(await stack.context.batches.get(batchId)).toMatchObject({ n_reversed: 4, c_reversed: 12_000, n_paid: 0, n_declined: 1 });
  });

  it('a void whose answer is lost ends reversal_unknown and is not sent again', async () => {
    const { batchId } = await submit('virtualrx', ['vl-1,20230226005,7311,CLM-VL1,G1,1200']);
    const sandbox = stack.sandboxes.virtualrx!;
    sandbox.setFaults([{ kind: 'drop-after', times: 1, paths: ['/jsonapi.php'], match: { ServiceName: 'VoidPayment' } }]);
    const requests = sandbox.requests().length;
    expect(await reverse(batchId, ['vl-1'])).toMatchObject([{ kind: 'reversal_unknown' }]);
    expect(await reverse(batchId, ['vl-1'])).toMatchObject([{ kind: 'not_reversible' }]);
    expect(sandbox.requests()).toHaveLength(requests + 1);
    expect(unloads('virtualrx', '20230226005')).toHaveLength(1);
  });
});

it('PT API payments are refused with a clear message, and nothing changes', async () => {
  const { batchId } = await submit('ptapi', ['pt-1,CH0001,C200,PR300,500,Visit 1']);
  const requests = stack.sandboxes.ptapi!.requests().length;
  await expect(reverse(batchId, ['pt-1'])).rejects.toThrow(
    new ReversalRefusedError('PT API payments cannot be reversed through its API; ask PT API to reverse them (its portal or support). Nothing was changed.'),
  );
  await expect(reverse(batchId, 'all')).rejects.toThrow(ReversalRefusedError);
  expect(await record('ptapi', batchId, 'pt-1')).toMatchObject({ status: 'paid' });
  expect(stack.sandboxes.ptapi!.requests()).toHaveLength(requests);
});
