import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditFields } from '../../src/audit/audit-entry.js';
import { cancelBatch } from '../../src/batches/cancel.js';
import { submitManifest } from '../../src/batches/submit.js';
import type { RunningDashboard } from '../../src/dashboard/server.js';
import { writeAuditCsv } from '../../src/reports/audit-csv.js';
import { addPerson, signIn, startConsole, type Browser } from '../helpers/console.js';
import { parseReport, startStack, type TestStack } from '../helpers/stack.js';

/** The audit page: the trail newest first, filtered, paged, and downloaded as the export writes it. */

let stack: TestStack;
let console_: RunningDashboard;
let vic: Browser;
let held: string;
let other: string;
const today = new Date().toISOString().slice(0, 10);

async function submit(name: string, identity: string): Promise<string> {
  const file = await stack.manifest(name, 'payment_id,cardId,amount,description\nau-1,1000000001,20.00,Visit <b>stipend</b>\n');
  const result = await submitManifest(stack.context, { file, account: stack.account('ctpayer'), submittedBy: { identity } });
  if (!result.accepted) throw new Error('refused');
  return result.batchId;
}

beforeAll(async () => {
  stack = await startStack({ providers: ['ctpayer'], account: { approval: 'always' } });
  console_ = await startConsole(stack);
  await addPerson(stack, 'vic', 'viewer');
  vic = await signIn(console_.url, 'vic');
  held = await submit('held.csv', 'Alice@maker-host');
  await cancelBatch(stack.context, held, { identity: 'carol@checker-host' });
  other = await submit('other.csv', 'dave@maker-host');
});
afterAll(async () => {
  await console_?.close();
  await stack?.close();
});

/** The rows of the page's trail, as [event, who, batch]. */
function rowsOf(text: string): string[][] {
  const body = /<tbody>([\s\S]*?)<\/tbody>/.exec(text)?.[1] ?? '';
  return [...body.matchAll(/<tr>([\s\S]*?)<\/tr>/g)].map(([, row]) => {
    const cells = [...row!.matchAll(/<td>([\s\S]*?)<\/td>/g)].map(([, cell]) => cell!.replace(/<[^>]+>/g, ''));
    return [cells[1]!, cells[2]!, cells[4]!];
  });
}

describe('the audit page', () => {
  it('shows the trail newest first, with labelled filters, linked batches and a CSV link', async () => {
    const page = await vic.get('/console/audit');
    expect(page.status).toBe(200);
    expect(rowsOf(page.text)).toEqual([
      ['submitted', 'dave@maker-host', other],
      ['canceled', 'carol@checker-host', held],
      ['submitted', 'Alice@maker-host', held],
      ['person_added', expect.stringMatching(/@/), ''],
    ]);
    expect(page.text).toContain(`<a href="/console/batches/${held}">${held}</a>`);
    for (const label of ['<label for="from">From', '<label for="to">To', '<label for="batch">Batch', '<label for="event">Event<select', '<label for="identity">Who']) expect(page.text).toContain(label);
    for (const column of ['At', 'Event', 'Who', 'Where', 'Batch', 'Payment', 'Details']) expect(page.text).toContain(`<th scope="col">${column}</th>`);
    expect(page.text).toContain('<a href="/console/audit.csv">Download CSV</a>');
    // A manifest's text, as typed, is shown as text.
    expect(page.text).not.toMatch(/<b>stipend/);
  });

  it('filters by event, batch, who (ignoring case) and period, and links the CSV with the same filters', async () => {
    expect(rowsOf((await vic.get('/console/audit?event=canceled')).text)).toEqual([['canceled', 'carol@checker-host', held]]);
    expect(rowsOf((await vic.get(`/console/audit?batch=${held}`)).text).map((r) => r[0])).toEqual(['canceled', 'submitted']);
    expect(rowsOf((await vic.get('/console/audit?identity=ALICE')).text)).toEqual([['submitted', 'Alice@maker-host', held]]);
    expect(rowsOf((await vic.get(`/console/audit?from=${today}&to=${today}&event=submitted`)).text)).toHaveLength(2);
    const none = await vic.get('/console/audit?from=2020-01-01&to=2020-12-31');
    expect(rowsOf(none.text)).toEqual([]);
    expect(none.text).toContain('No decisions recorded for these filters');
    const filtered = await vic.get(`/console/audit?event=submitted&identity=maker&from=${today}`);
    expect(filtered.text).toContain(`<a href="/console/audit.csv?from=${today}&amp;event=submitted&amp;identity=maker">Download CSV</a>`);
    expect(filtered.text).toContain('<option value="submitted" selected>');
  });

  it('downloads the CSV the export writes, for the same filters', async () => {
    const csv = await vic.get(`/console/audit.csv?event=submitted&identity=maker&from=${today}`);
    expect(csv.status).toBe(200);
    expect(csv.headers.get('content-disposition')).toBe('attachment; filename=audit.csv');
    const expected = join(stack.dir, 'expected-audit.csv');
    await writeAuditCsv(stack.context, expected, { event: 'submitted', identity: 'maker', fromMs: Date.parse(`${today}T00:00:00Z`) });
    expect(csv.text).toBe(await readFile(expected, 'utf8'));
    expect(parseReport(csv.text).map((r) => [r.event, r.identity, r.batch_id])).toEqual([['submitted', 'Alice@maker-host', held], ['submitted', 'dave@maker-host', other]]);
  });

  it('refuses impossible days, an unknown batch or event with one line (400)', async () => {
    for (const [query, message] of [
      ['from=2026-02-30', 'From: 2026-02-30 is not a day in the calendar'],
      ['from=2026-03-02&to=2026-03-01', 'From (2026-03-02) must not be after To (2026-03-01)'],
      ['to=99999-01-01', 'To: must be a date like 2026-11-01'],
      ['batch=no-such-batch', 'no batch no-such-batch is recorded'],
      ['batch=..%2Fetc', 'is not a batch id'],
      ['event=deleted', 'Event: one of submitted'],
      ['before=not-an-id', 'Older entries: not a place in the audit trail'],
    ] as const) {
      for (const path of ['/console/audit', '/console/audit.csv']) {
        if (path.endsWith('.csv') && query.startsWith('before')) continue;
        const answer = await vic.get(`${path}?${query}`);
        expect(answer.status, `${path}?${query}`).toBe(400);
        expect(answer.text).toContain(message);
      }
    }
  });

  it('pages a long trail 200 entries at a time, newest first, each entry once', async () => {
    for (let i = 0; i < 450; i += 1) {
      await stack.context.redis.xadd(stack.context.keys.audit('ctpayer', 'main'), '*', ...auditFields('resolved', { identity: 'pager@ops-1' }, { batchId: other, paymentId: `p-${i}` }, 'not paid'));
    }
    const seen: string[] = [];
    let path = '/console/audit?identity=pager';
    for (const size of [200, 200, 50]) {
      const page = await vic.get(path);
      const payments = [...page.text.matchAll(/<td>(p-\d+)<\/td>/g)].map(([, id]) => id!);
      expect(payments).toHaveLength(size);
      seen.push(...payments);
      const older = /<a href="(\/console\/audit\?[^"]+)">Older entries<\/a>/.exec(page.text)?.[1];
      if (size === 50) expect(older).toBeUndefined();
      else path = older!.replaceAll('&amp;', '&');
    }
    expect(seen).toEqual(Array.from({ length: 450 }, (_, i) => `p-${449 - i}`));
  });
});
