import { hostname } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consolePerson } from '../../src/audit/actor.js';
import type { AuditEntry } from '../../src/audit/audit-entry.js';
import { auditEntries } from '../../src/audit/audit-trail.js';
import { submitManifest } from '../../src/batches/submit.js';
import { waitForBatch } from '../../src/batches/wait.js';
import type { RunningDashboard } from '../../src/dashboard/server.js';
import { addPerson, type Browser, signIn, startConsole } from '../helpers/console.js';
import { startStack, type TestStack } from '../helpers/stack.js';

/**
 * The Approvals page over real HTTP: a batch above the account's approval threshold, submitted in
 * the console by sam, waits there with its total and the rule; sam cannot approve it, a viewer and
 * a forged form change nothing, ann approves it and real workers pay it through the CT Payer sandbox.
 */

let stack: TestStack;
let console_: RunningDashboard;
let sam: Browser;
let ann: Browser;
let vera: Browser;

beforeAll(async () => {
  stack = await startStack({ providers: ['ctpayer'], account: { approval: { above: '100.00' } } });
  await stack.startWorkers();
  console_ = await startConsole(stack);
  // sam is an approver too: only maker-checker keeps him from approving his own batch.
  await addPerson(stack, 'sam', 'approver');
  await addPerson(stack, 'ann', 'approver');
  await addPerson(stack, 'vera', 'viewer');
  sam = await signIn(console_.url, 'sam');
  ann = await signIn(console_.url, 'ann');
  vera = await signIn(console_.url, 'vera');
}, 60_000);
afterAll(async () => {
  await console_?.close();
  await stack?.close();
});

let files = 0;
/** A batch of two payments ($80.00 and $70.00: above the $100.00 threshold) submitted by sam in the console. */
async function submittedBySam(prefix: string): Promise<string> {
  const text = ['payment_id,cardId,amount,description', `${prefix}-1,1000000001,80.00,Visit 1`, `${prefix}-2,1000000002,70.00,Visit 1`].join('\n');
  const result = await submitManifest(stack.context, {
    file: await stack.manifest(`approvals-${(files += 1)}.csv`, text), account: stack.account('ctpayer'), submittedBy: consolePerson('sam', '127.0.0.1'),
  });
  if (!result.accepted) throw new Error('manifest refused');
  return result.batchId;
}

const state = async (batchId: string) => (await stack.context.batches.get(batchId)).state;
const loads = (prefix: string) => stack.sandboxes.ctpayer!.transactions().filter((t) => t.kind === 'load' && t.key?.startsWith(prefix));
async function trail(batchId: string): Promise<AuditEntry[]> {
  const entries: AuditEntry[] = [];
  for await (const entry of auditEntries(stack.context, { batchId })) entries.push(entry);
  return entries;
}

describe('a batch awaiting approval', () => {
  let batchId: string;
  beforeAll(async () => {
    batchId = await submittedBySam('ap');
  });

  it('is listed with its total, rows, submitter, rule and time to pay; a viewer sees no buttons', async () => {
    const page = await vera.get('/console/approvals');
    expect(page.status).toBe(200);
    expect(page.text).toContain(`href="/console/batches/${batchId}"`);
    expect(page.text).toContain('2 payments, $150.00 in all');
    expect(page.text).toContain('submitted by console:sam at');
    expect(page.text).toContain('above $100.00');
    expect(page.text).toContain('the batch totals $150.00, above ctpayer/main&#39;s approval threshold of $100.00');
    expect(page.text).toContain('estimated time to pay');
    expect(page.text).not.toContain('>Approve</button>');
    expect(page.text).toContain('An approver approves or cancels this batch.');
  });

  it('its submitter sees why he cannot approve it, and the server refuses him: it still waits', async () => {
    const page = await sam.get('/console/approvals');
    expect(page.text).toMatch(/<button type="submit" disabled[^>]*>Approve<\/button> <span[^>]*>You cannot approve it: console:sam submitted batch/);
    const refused = await sam.post(`/console/batches/${batchId}/approve`, {});
    expect(refused.status).toBe(400);
    expect(refused.text).toContain(`console:sam submitted batch ${batchId}; someone else must approve it`);
    expect(await state(batchId)).toBe('awaiting_approval');
  });

  it('a viewer\'s form, a form without the token and one from another origin are refused (403) and change nothing', async () => {
    await vera.get('/console/approvals');
    const viewer = await vera.post(`/console/batches/${batchId}/approve`, {});
    expect(viewer.status).toBe(403);
    expect(viewer.text).toContain('a viewer may not approve, cancel, resolve or reverse');
    await ann.get('/console/approvals');
    expect((await ann.post(`/console/batches/${batchId}/approve`, {}, { csrf: null })).status).toBe(403);
    expect((await ann.post(`/console/batches/${batchId}/cancel`, {}, { origin: 'http://127.0.0.1:1' })).status).toBe(403);
    expect(await state(batchId)).toBe('awaiting_approval');
    expect(loads('ap-')).toHaveLength(0);
  });

  it('another approver approves it: the workers pay every row once, and the trail names console:ann via her address', async () => {
    const page = await ann.get('/console/approvals');
    expect(page.text).toContain(`action="/console/batches/${batchId}/approve"`);
    const approved = await ann.post(`/console/batches/${batchId}/approve`, {});
    expect(approved.status).toBe(303);
    expect(approved.headers.get('location')).toBe(`/console/approvals?done=${encodeURIComponent(`approved:${batchId}`)}`);
    const after = await ann.get(approved.headers.get('location')!);
    expect(after.text).toContain(`Batch ${batchId} approved: its payments are queued.`);
    expect(after.text).not.toContain(`href="/console/batches/${batchId}"`);

    expect(await waitForBatch(stack.context, batchId, { pollMs: 50 })).toMatchObject({ state: 'enqueued', approved_by: 'console:ann', n_paid: 2, c_paid: 15000 });
    expect(loads('ap-').map((t) => t.amountCents).sort()).toEqual([7000, 8000]);

    const entries = await trail(batchId);
    expect(entries.map((e) => [e.event, e.identity])).toEqual([['submitted', 'console:sam'], ['approved', 'console:ann']]);
    expect(entries[1]!.host).toBe(`${hostname()} via 127.0.0.1`);

    // Approved once: a second approval is refused in one line.
    const again = await ann.post(`/console/batches/${batchId}/approve`, {});
    expect(again.status).toBe(400);
    expect(again.text).toContain(`batch ${batchId} is enqueued, not awaiting approval`);
  });
});

describe('canceling', () => {
  it('drops the batch, records who canceled it, and sends nothing', async () => {
    const batchId = await submittedBySam('cx');
    await ann.get('/console/approvals');
    const canceled = await ann.post(`/console/batches/${batchId}/cancel`, {});
    expect(canceled.status).toBe(303);
    expect((await ann.get(canceled.headers.get('location')!)).text).toContain(`Batch ${batchId} canceled: nothing of it was sent.`);
    expect(await stack.context.batches.get(batchId)).toMatchObject({ state: 'canceled', canceled_by: 'console:ann', n_failed: 2 });
    expect((await trail(batchId)).map((e) => [e.event, e.identity, e.host])).toEqual([
      ['submitted', 'console:sam', `${hostname()} via 127.0.0.1`],
      ['canceled', 'console:ann', `${hostname()} via 127.0.0.1`],
    ]);
    expect((await ann.post(`/console/batches/${batchId}/approve`, {})).status).toBe(400);
    expect(await state(batchId)).toBe('canceled');
    expect(loads('cx-')).toHaveLength(0);
  });
});

it('shows what the last decision did as text, never as markup', async () => {
  const page = await ann.get(`/console/approvals?done=${encodeURIComponent('approved:<script>alert(1)</script>')}`);
  expect(page.text).toContain('Batch &lt;script&gt;alert(1)&lt;/script&gt; approved');
  expect(page.text).not.toContain('<script>alert');
});
