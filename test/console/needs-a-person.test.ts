import { hostname } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEntry } from '../../src/audit/audit-entry.js';
import { auditEntries } from '../../src/audit/audit-trail.js';
import { submitManifest } from '../../src/batches/submit.js';
import { waitForBatch } from '../../src/batches/wait.js';
import type { RunningDashboard } from '../../src/dashboard/server.js';
import { addPerson, type Browser, signIn, startConsole } from '../helpers/console.js';
import { startStack, type TestStack } from '../helpers/stack.js';

/**
 * Needs a person and Reverse over real HTTP, with real workers and sandboxes: payments whose answer
 * was lost (VirtualRx, the answer dropped after it applied) are listed and an approver records what
 * happened; a paid CT Payer payment is reversed through the sandbox, and one whose reversal's answer
 * is lost comes back to Needs a person.
 */

let stack: TestStack;
let console_: RunningDashboard;
let ann: Browser;
let vera: Browser;
const VIA = `${hostname()} via 127.0.0.1`;

beforeAll(async () => {
  stack = await startStack({ providers: ['virtualrx', 'ctpayer', 'ptapi'] });
  await stack.startWorkers();
  console_ = await startConsole(stack);
  await addPerson(stack, 'ann', 'approver');
  await addPerson(stack, 'vera', 'viewer');
  ann = await signIn(console_.url, 'ann');
  vera = await signIn(console_.url, 'vera');
}, 60_000);
afterAll(async () => {
  await console_?.close();
  await stack?.close();
});

let files = 0;
async function paid(provider: string, lines: string[]): Promise<string> {
  const file = await stack.manifest(`needs-${(files += 1)}.csv`, lines.join('\n'));
  const submitted = await submitManifest(stack.context, { file, account: stack.account(provider) });
  if (!submitted.accepted) throw new Error('manifest refused');
  await waitForBatch(stack.context, submitted.batchId, { pollMs: 50 });
  return submitted.batchId;
}
const record = (provider: string, batchId: string, paymentId: string) => stack.context.payments(stack.account(provider)).get({ batchId, paymentId });
async function trail(batchId: string): Promise<AuditEntry[]> {
  const entries: AuditEntry[] = [];
  for await (const entry of auditEntries(stack.context, { batchId })) entries.push(entry);
  return entries;
}

const ctState = () => stack.sandboxes.ctpayer!.state() as { accounts: { fundingBalanceCents: number; cards: { cardId: string; balanceCents: number }[] }[] };
const cardBalance = (cardId: string) => ctState().accounts[0]!.cards.find((c) => c.cardId === cardId)!.balanceCents;
const funding = () => ctState().accounts[0]!.fundingBalanceCents;
const unloads = (cardId: string) => stack.sandboxes.ctpayer!.transactions().filter((t) => t.kind === 'unload' && t.payee === cardId);

describe('payments whose outcome is unknown', () => {
  let batchId: string;
  beforeAll(async () => {
    // Every answer is lost after VirtualRx applied the payment: both rows end unknown.
    stack.sandboxes.virtualrx!.setFaults([{ kind: 'drop-after' }]);
    batchId = await paid('virtualrx', [
      'payment_id,CustId,ProgramId,ClaimReferenceNumber,ClientGroupID,amount_cents',
      'nu-1,20230226001,7311,CLM-NU-1,GRP-1,1500',
      'nu-2,20230226002,7311,CLM-NU-2,GRP-1,2500',
    ]);
    stack.sandboxes.virtualrx!.setFaults([]);
  }, 60_000);

  it('are listed with amount, status and attempts; a viewer sees no form', async () => {
    expect(await stack.context.batches.get(batchId)).toMatchObject({ n_unknown: 2, c_unknown: 4000 });
    const page = await vera.get('/console/needs-a-person');
    expect(page.status).toBe(200);
    expect(page.text).toContain('2 payments need a person');
    expect(page.text).toMatch(/Payment nu-1 <span class="tag status-unknown">unknown<\/span>/);
    expect(page.text).toContain('<dt>Amount</dt><dd>$15.00</dd>');
    expect(page.text).toContain('<dt>Amount</dt><dd>$25.00</dd>');
    expect(page.text).toContain(`<a href="/console/batches/${batchId}">${batchId}</a> (virtualrx/main, line 2)`);
    expect(page.text).toMatch(/<dt>Last attempt<\/dt><dd><time datetime="\d{4}-\d\d-\d\dT[^"]+">\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC<\/time>/);
    expect(page.text).not.toContain('action="/console/payments/resolve"');
    expect(page.text).toContain('An approver records what happened.');
  });

  it('an approver sees the Resolve form; a bad form is refused in one line and changes nothing', async () => {
    const page = await ann.get('/console/needs-a-person');
    expect(page.text).toContain('action="/console/payments/resolve"');
    expect(page.text).toMatch(/<legend>Was it paid\?<\/legend>\s*<label><input type="radio" name="verdict" value="paid" required> Paid<\/label> <label><input type="radio" name="verdict" value="not-paid" required> Not paid<\/label>/);
    expect(page.text).toMatch(/<label for="reference-0">Provider reference<\/label>/);
    expect(page.text).toMatch(/<label for="note-0">Note<\/label>/);
    const ref = { batchId, paymentId: 'nu-1' };
    const refusals: [Record<string, string>, string][] = [
      [{ ...ref, verdict: 'paid', reference: ' ' }, 'a payment found paid needs the provider reference for it; nothing was recorded'],
      [{ ...ref, verdict: 'maybe' }, 'choose what happened: Paid or Not paid (for a reversal, Reversed or Not reversed); nothing was recorded'],
      [{ ...ref, verdict: 'not-paid', note: 'card 4111 1111 1111 1111 was lost' }, 'card numbers are never recorded or sent'],
      [{ ...ref, verdict: 'reversed', reference: 'R-1' }, 'the reversal of payment nu-1 cannot be resolved: it is unknown, not reversal_unknown'],
    ];
    for (const [form, message] of refusals) {
      const answer = await ann.post('/console/payments/resolve', form);
      expect([answer.status, answer.text]).toEqual([400, expect.stringContaining(message)]);
    }
    expect((await vera.post('/console/payments/resolve', { ...ref, verdict: 'not-paid' })).status).toBe(403);
    expect((await ann.post('/console/payments/resolve', { ...ref, verdict: 'not-paid' }, { csrf: null })).status).toBe(403);
    expect(await record('virtualrx', batchId, 'nu-1')).toMatchObject({ status: 'unknown' });
    expect((await trail(batchId)).map((e) => e.event)).toEqual(['submitted']);
  });

  it('resolved as paid with the provider reference and a note, and as not paid', async () => {
    const reference = stack.sandboxes.virtualrx!.transactions().find((t) => t.key === 'CLM-NU-1')!.id;
    await ann.get('/console/needs-a-person');
    const answer = await ann.post('/console/payments/resolve', { batchId, paymentId: 'nu-1', verdict: 'paid', reference, note: 'confirmed with VirtualRx support' });
    expect(answer.status).toBe(303);
    expect((await ann.get(answer.headers.get('location')!)).text).toContain('Payment nu-1 recorded as paid.');
    expect(await record('virtualrx', batchId, 'nu-1')).toMatchObject({
      status: 'paid', reference, code: 'RESOLVED_PAID', resolved_by: 'console:ann', message: 'settled by hand as paid by console:ann: confirmed with VirtualRx support',
    });

    const notPaid = await ann.post('/console/payments/resolve', { batchId, paymentId: 'nu-2', verdict: 'not-paid', reference: '', note: '' });
    expect(notPaid.status).toBe(303);
    expect(await record('virtualrx', batchId, 'nu-2')).toMatchObject({ status: 'failed', code: 'RESOLVED_NOT_PAID', message: 'settled by hand as not paid by console:ann' });
    expect(await stack.context.batches.get(batchId)).toMatchObject({ n_unknown: 0, n_paid: 1, c_paid: 1500, n_failed: 1, c_failed: 2500 });

    const resolved = (await trail(batchId)).filter((e) => e.event === 'resolved');
    expect(resolved.map((e) => [e.payment_id, e.identity, e.host, e.details])).toEqual([
      ['nu-1', 'console:ann', VIA, `paid, reference ${reference}; note: confirmed with VirtualRx support`],
      ['nu-2', 'console:ann', VIA, 'not paid'],
    ]);
    expect((await ann.get('/console/needs-a-person')).text).toContain('No payment needs a person');
  });
});

describe('reversing a paid payment', () => {
  let batchId: string;
  beforeAll(async () => {
    batchId = await paid('ctpayer', ['payment_id,cardId,amount_cents,description', 'rv-1,1000000003,1250,Visit 1', 'rv-2,1000000004,2000,Visit 1']);
  }, 60_000);

  it('goes through the provider: the card gives the money back to the funding account', async () => {
    expect((await vera.get(`/console/payments/reverse?batch=${batchId}&payment=rv-1`)).status).toBe(403);
    const page = await ann.get(`/console/payments/reverse?batch=${batchId}&payment=rv-1`);
    expect(page.status).toBe(200);
    expect(page.text).toContain('<dt>Amount</dt><dd>$12.50</dd>');
    expect(page.text).toContain('<label for="reason">Reason</label>');
    expect(page.text).toContain('>Reverse payment</button>');

    const fundingBefore = funding();
    expect(cardBalance('1000000003')).toBe(1250);
    // CT Payer takes a description of at most 45 characters: refused before anything is sent.
    const tooLong = await ann.post('/console/payments/reverse', { batchId, paymentId: 'rv-1', reason: 'r'.repeat(46) });
    expect([tooLong.status, tooLong.text]).toEqual([400, expect.stringContaining('the reason must be at most 45 characters (has 46) for CT Payer; nothing was reversed')]);
    expect(unloads('1000000003')).toHaveLength(0);

    const reversed = await ann.post('/console/payments/reverse', { batchId, paymentId: 'rv-1', reason: 'Paid to the wrong participant' });
    expect(reversed.status).toBe(200);
    const [unload] = unloads('1000000003');
    expect(reversed.text).toContain(`Payment rv-1 reversed: $12.50 came back (reversal reference ${unload!.id}).`);
    expect(unload).toMatchObject({ amountCents: 1250, description: 'Paid to the wrong participant' });
    expect(cardBalance('1000000003')).toBe(0);
    expect(funding()).toBe(fundingBefore + 1250);
    expect(await record('ctpayer', batchId, 'rv-1')).toMatchObject({ status: 'reversed', reversal_reference: unload!.id, reversal_by: 'console:ann' });
    expect((await trail(batchId)).filter((e) => e.event === 'reversed').map((e) => [e.payment_id, e.identity, e.host])).toEqual([['rv-1', 'console:ann', VIA]]);

    // Never twice: the page says why, and no form is offered.
    const again = await ann.get(`/console/payments/reverse?batch=${batchId}&payment=rv-1`);
    expect(again.text).toContain('It cannot be reversed: already reversed on');
    expect(again.text).not.toContain('>Reverse payment</button>');
  });

  it('a reversal whose answer is lost is listed on Needs a person, where an approver records it', async () => {
    stack.sandboxes.ctpayer!.setFaults([{ kind: 'drop-after', paths: ['/chargecard.php'] }]);
    await ann.get(`/console/payments/reverse?batch=${batchId}&payment=rv-2`);
    const lost = await ann.post('/console/payments/reverse', { batchId, paymentId: 'rv-2', reason: 'Paid in error' });
    stack.sandboxes.ctpayer!.setFaults([]);
    expect(lost.status).toBe(200);
    expect(lost.text).toContain('the $20.00 may have come back. Payment rv-2 is listed on Needs a person');
    expect(await record('ctpayer', batchId, 'rv-2')).toMatchObject({ status: 'reversal_unknown' });

    const page = await ann.get('/console/needs-a-person');
    expect(page.text).toMatch(/Payment rv-2 <span class="tag status-reversal">reversal unknown<\/span>/);
    expect(page.text).toContain('value="reversed" required> Reversed</label>');
    expect(page.text).toContain('value="not-reversed" required> Not reversed</label>');
    expect((await ann.post('/console/payments/resolve', { batchId, paymentId: 'rv-2', verdict: 'reversed' })).status).toBe(400);

    // The sandbox applied it before the answer was lost: the money came back.
    const [unload] = unloads('1000000004');
    const answer = await ann.post('/console/payments/resolve', { batchId, paymentId: 'rv-2', verdict: 'reversed', reference: unload!.id, note: 'seen in the CT Payer portal' });
    expect(answer.status).toBe(303);
    expect((await ann.get(answer.headers.get('location')!)).text).toContain('Payment rv-2 recorded as reversed.');
    expect(await record('ctpayer', batchId, 'rv-2')).toMatchObject({
      status: 'reversed', reversal_reference: unload!.id, reversal_resolved_by: 'console:ann', reversal_message: 'settled by hand as reversed by console:ann: seen in the CT Payer portal',
    });
    expect(cardBalance('1000000004')).toBe(0);
  });

  it('a provider that cannot reverse says so, and nothing is sent', async () => {
    const ptBatch = await paid('ptapi', ['payment_id,cardholderId,customerId,programId,amount_cents,description', 'pt-1,CH0001,C200,PR300,500,Visit 1']);
    const page = await ann.get(`/console/payments/reverse?batch=${ptBatch}&payment=pt-1`);
    expect(page.text).toContain('It cannot be reversed: PT API payments cannot be reversed through its API');
    expect(page.text).not.toContain('>Reverse payment</button>');
    const requests = stack.sandboxes.ptapi!.requests().length;
    const refused = await ann.post('/console/payments/reverse', { batchId: ptBatch, paymentId: 'pt-1', reason: 'Paid in error' });
    expect([refused.status, refused.text]).toEqual([400, expect.stringContaining('PT API payments cannot be reversed through its API')]);
    expect(await record('ptapi', ptBatch, 'pt-1')).toMatchObject({ status: 'paid' });
    expect(stack.sandboxes.ptapi!.requests()).toHaveLength(requests);
  });
});
