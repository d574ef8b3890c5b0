import { readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { consolePerson } from '../../src/audit/actor.js';
import { submitManifest } from '../../src/batches/submit.js';
import type { BatchSummary } from '../../src/reports/reconciliation.js';
import { reportFolder } from '../../src/reports/report-folder.js';
import type { RunningDashboard } from '../../src/dashboard/server.js';
import { PASSWORD, addPerson, signIn, startConsole, type Browser } from '../helpers/console.js';
import { parseReport, startStack, type TestStack } from '../helpers/stack.js';

/**
 * The batches pages over real HTTP against a real stack: a batch submitted by a console person and
 * paid by real workers through the CT Payer sandbox (one row on a canceled card, which it declines),
 * seen by a viewer on the list, on its page filtered by status, in its report downloads, and live
 * in the event stream while it is paid.
 */

type Figures = Record<string, string | number>;

let stack: TestStack;
let console_: RunningDashboard;
let vera: Browser;
let batchId = '';
/** The batch's figures as the stream last sent them, once it was settled. */
let settled: Figures = {};

const MANIFEST = [
  'payment_id,cardId,amount,description',
  'cb-1,1000000001,75.00,Visit 3 stipend',
  'cb-2,1000000002,120.50,Visit 3 stipend',
  'cb-3,1000000022,40.00,Visit 3 stipend', // a canceled card: the sandbox declines it
].join('\n');

beforeAll(async () => {
  stack = await startStack({ providers: ['ctpayer'] });
  console_ = await startConsole(stack);
  await addPerson(stack, 'vera', 'viewer');
  await addPerson(stack, 'abe', 'approver');
  vera = await signIn(console_.url, 'vera');
});
afterAll(async () => {
  await console_?.close();
  await stack?.close();
});

/** A session cookie of `name`, for a stream the Browser helper (which reads whole answers) cannot hold. */
async function sessionCookie(url: string, name: string): Promise<string> {
  const form = await fetch(`${url}/console/sign-in`);
  const formCookie = form.headers.getSetCookie()[0]!.split(';')[0]!;
  const token = /name="_sign_in" value="([^"]+)"/.exec(await form.text())![1]!;
  const answer = await fetch(`${url}/console/sign-in`, {
    method: 'POST', redirect: 'manual', body: new URLSearchParams({ _sign_in: token, name, password: PASSWORD }), headers: { cookie: formCookie, origin: url },
  });
  return answer.headers.getSetCookie().find((line) => line.startsWith('stipend_session='))!.split(';')[0]!;
}

/** /console/events read as a browser's EventSource would, its `batch` events parsed in order. */
async function openEvents(url: string, cookie: string) {
  const controller = new AbortController();
  const response = await fetch(`${url}/console/events`, { headers: { cookie, accept: 'text/event-stream' }, signal: controller.signal });
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  const events: Figures[] = [];
  const take = () => {
    for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const data = /^event: batch\ndata: (.*)$/.exec(block)?.[1];
      if (data !== undefined) events.push(JSON.parse(data) as Figures);
    }
  };
  return {
    response,
    /** Events up to and with the first that `wanted` takes, within `timeoutMs`. */
    async until(wanted: (figures: Figures) => boolean, timeoutMs = 15_000): Promise<Figures[]> {
      const deadline = Date.now() + timeoutMs;
      const seen: Figures[] = [];
      for (;;) {
        take();
        while (events.length > 0) {
          const figures = events.shift()!;
          seen.push(figures);
          if (wanted(figures)) return seen;
        }
        const timer = setTimeout(() => controller.abort(), deadline - Date.now());
        const read = await reader.read().catch(() => ({ done: true, value: undefined })).finally(() => clearTimeout(timer));
        if (read.done) throw new Error(`the stream ended without the event wanted; seen: ${JSON.stringify(seen)}`);
        buffer += read.value;
      }
    },
    /** Whether the server ended the stream (rather than our timeout), within `timeoutMs`. */
    async ended(timeoutMs: number): Promise<boolean> {
      const timer = setTimeout(() => controller.abort(new Error('timeout')), timeoutMs);
      try {
        for (;;) if ((await reader.read()).done) return true;
      } catch {
        return !controller.signal.aborted;
      } finally {
        clearTimeout(timer);
      }
    },
    close: () => controller.abort(),
  };
}

/** The list's row of one batch: from its <tr data-batch-id> to its </tr>. */
function batchRow(pageText: string, id: string): string {
  const start = pageText.indexOf(`<tr data-batch-id="${id}">`);
  expect(start, `no row for ${id}`).toBeGreaterThanOrEqual(0);
  return pageText.slice(start, pageText.indexOf('</tr>', start));
}

/** The text of the cell (not the progress bar) that shows `field`. */
const cellOf = (text: string, field: string) => new RegExp(`<(?:span|td) data-field="${field}">([^<]*)<`).exec(text)?.[1];

describe('the batches pages', () => {
  it('streams a batch\'s figures while it is paid, up to its final counts', async () => {
    const submitted = await submitManifest(stack.context, {
      file: await stack.manifest('visit-3.csv', MANIFEST), account: stack.account('ctpayer'), submittedBy: consolePerson('sam', '127.0.0.1'),
    });
    if (!submitted.accepted) throw new Error(`refused: ${JSON.stringify(submitted)}`);
    batchId = submitted.batchId;

    const events = await openEvents(console_.url, await sessionCookie(console_.url, 'vera'));
    try {
      expect(events.response.status).toBe(200);
      expect(events.response.headers.get('content-type')).toMatch(/^text\/event-stream/);
      expect(events.response.headers.get('cache-control')).toBe('no-cache');
      expect(events.response.headers.get('x-accel-buffering')).toBe('no');
      // No worker yet: the batch waits, nothing final.
      const [waiting] = (await events.until((f) => f.batchId === batchId)).slice(-1);
      expect(waiting).toMatchObject({ batchId, state: 'enqueued', final: 0, accepted: 3, rowsTotal: 3, pending: 3, pendingAmount: '$235.50', paid: 0 });

      await stack.startWorkers();
      const seen = await events.until((f) => f.batchId === batchId && f.state === 'settled');
      settled = seen.at(-1)!;
      expect(settled).toMatchObject({
        final: 3, accepted: 3, pending: 0, paid: 2, paidAmount: '$195.50', declined: 1, declinedAmount: '$40.00', failed: 0, unknown: 0,
      });
      // Only changes are sent: never the same figures twice.
      const ours = seen.filter((f) => f.batchId === batchId).map((f) => JSON.stringify(f));
      expect(new Set(ours).size).toBe(ours.length);
    } finally {
      events.close();
    }
  });

  it('lists the batch for a viewer with its account, file, submitter, state, progress and totals', async () => {
    const list = await vera.get('/console/batches');
    expect(list.status).toBe(200);
    const row = batchRow(list.text, batchId);
    expect(row).toContain(`<a href="/console/batches/${batchId}">${batchId}</a>`);
    expect(row).toContain('<td>ctpayer/main</td>');
    expect(row).toContain('<td>visit-3.csv</td>');
    expect(row).toContain('<td>console:sam</td>');
    expect(row).toMatch(/<progress data-field="final" max="3" value="3"/);
    expect([cellOf(row, 'state'), cellOf(row, 'final'), cellOf(row, 'accepted')]).toEqual(['settled', '3', '3']);
    expect([cellOf(row, 'paid'), cellOf(row, 'paidAmount'), cellOf(row, 'declined'), cellOf(row, 'declinedAmount')]).toEqual(['2', '$195.50', '1', '$40.00']);
    // Every live cell is one the event stream fills.
    for (const [, field] of row.matchAll(/data-field="([^"]+)"/g)) expect(settled, field).toHaveProperty(field!);
    // The page's script is the console's own file: no inline script.
    expect(list.text).not.toMatch(/<script(?![^>]*src="\/console\/assets\/console\.js")/);
  });

  it('shows the batch\'s facts and its rows, filtered by status', async () => {
    const all = await vera.get(`/console/batches/${batchId}`);
    expect(all.status).toBe(200);
    expect(all.text).toContain('<label for="status">Show rows');
    expect(all.text).toContain('<button type="submit">Filter</button>');
    for (const payment of ['cb-1', 'cb-2', 'cb-3']) expect(all.text).toContain(`<td>${payment}</td>`);
    expect(all.text).toContain('$235.50 in 3 payments');
    expect(all.text).toContain(`<a href="/console/batches/${batchId}/reconciliation.csv" download>reconciliation.csv</a>`);
    expect(all.text).toContain(`<a href="/console/batches/${batchId}/summary.json" download>summary.json</a>`);

    const declined = await vera.get(`/console/batches/${batchId}?status=declined`);
    expect(declined.text).toContain('<td>cb-3</td>');
    expect(declined.text).toContain('<option value="declined" selected>');
    expect(declined.text).not.toContain('<td>cb-1</td>');
    expect(declined.text).not.toContain('<td>cb-2</td>');

    const paid = await vera.get(`/console/batches/${batchId}?status=paid`);
    expect(paid.text).toContain('<td>cb-1</td>');
    expect(paid.text).toContain('<td>cb-2</td>');
    expect(paid.text).not.toContain('<td>cb-3</td>');
    const record = await stack.context.payments({ provider: 'ctpayer', name: 'main' }).get({ batchId, paymentId: 'cb-2' });
    expect(paid.text).toContain(`<td>${record!.reference}</td>`);
    // A viewer may not reverse: no link to.
    expect(paid.text).not.toContain('Reverse</a>');

    expect((await vera.get(`/console/batches/${batchId}?status=failed`)).text).toContain('No rows with this status.');
  });

  it('offers an approver "Reverse" on each paid row only', async () => {
    const abe = await signIn(console_.url, 'abe');
    const page = await abe.get(`/console/batches/${batchId}`);
    const links = [...page.text.matchAll(/<a href="([^"]+)">Reverse<\/a>/g)].map((m) => m[1]);
    expect(links).toEqual([
      `/console/payments/reverse?batch=${batchId}&amp;payment=cb-1`,
      `/console/payments/reverse?batch=${batchId}&amp;payment=cb-2`,
    ]);
  });

  it('answers an unknown batch 404 and a malformed id or filter 400, with a one-line reason', async () => {
    const unknown = await vera.get('/console/batches/20990101-000000-abcdef');
    expect(unknown.status).toBe(404);
    expect(unknown.text).toContain('No batch 20990101-000000-abcdef is recorded.');
    expect((await vera.get('/console/batches/20990101-000000-abcdef/summary.json')).status).toBe(404);
    const malformed = await vera.get('/console/batches/..%2F..%2Fetc');
    expect(malformed.status).toBe(400);
    expect(malformed.text).toContain('is not a batch id');
    const filter = await vera.get(`/console/batches/${batchId}?status=%3Cb%3E`);
    expect(filter.status).toBe(400);
    expect(filter.text).toContain('&quot;&lt;b&gt;&quot; is not a row status');
    expect(filter.text).not.toContain('<b>');
    expect((await vera.get('/console/batches?page=0')).status).toBe(400);
  });

  it('downloads reconciliation.csv written from the ledger, leaving no copy behind', async () => {
    const before = await downloadFolders();
    const download = await vera.get(`/console/batches/${batchId}/reconciliation.csv`);
    expect(download.status).toBe(200);
    expect(download.headers.get('content-type')).toMatch(/^text\/csv/);
    expect(download.headers.get('content-disposition')).toBe(`attachment; filename=${batchId}-reconciliation.csv`);
    const rows = parseReport(download.text);
    expect(rows.map((r) => [r.payment_id, r.status, r.amount_cents])).toEqual([['cb-1', 'paid', '7500'], ['cb-2', 'paid', '12050'], ['cb-3', 'declined', '4000']]);
    const ledger = stack.context.payments({ provider: 'ctpayer', name: 'main' });
    for (const row of rows.filter((r) => r.status === 'paid')) {
      const record = await ledger.get({ batchId, paymentId: row.payment_id! });
      expect([row.provider_reference, Number(row.amount_cents)]).toEqual([record!.reference, record!.amount_cents]);
      expect(row.provider_reference).not.toBe('');
    }
    // No card number (13-19 digits) in the file; CT Payer's card ids are 10.
    expect(download.text).not.toMatch(/\d{13,19}/);
    // The copy's folder is gone (removed once the last byte left), and is not taken for the batch's report folder.
    await vi.waitFor(async () => expect(await downloadFolders()).toEqual(before));
    expect(await reportFolder(stack.context, batchId)).toBe(stack.config.reportsDir);
  });

  it('downloads summary.json with the batch\'s totals', async () => {
    const download = await vera.get(`/console/batches/${batchId}/summary.json`);
    expect(download.status).toBe(200);
    expect(download.headers.get('content-disposition')).toBe(`attachment; filename=${batchId}-summary.json`);
    const summary = JSON.parse(download.text) as BatchSummary;
    expect(summary).toMatchObject({
      batch_id: batchId, complete: true, rows: 3,
      paid: { count: 2, cents: 19_550, amount: '195.50' },
      statuses: { paid: { count: 2, cents: 19_550 }, declined: { count: 1, cents: 4_000 } },
    });
  });

  it('shows a hostile file name as text', async () => {
    const name = '<img src=x onerror=alert(1)>"&.csv';
    const submitted = await submitManifest(stack.context, {
      file: await stack.manifest(name, 'payment_id,cardId,amount,description\ncb-x,1000000003,1.00,Parking'), account: stack.account('ctpayer'),
    });
    if (!submitted.accepted) throw new Error(`refused: ${JSON.stringify(submitted)}`);
    const escaped = '&lt;img src=x onerror=alert(1)&gt;&quot;&amp;.csv';
    const list = await vera.get('/console/batches');
    expect(batchRow(list.text, submitted.batchId)).toContain(`<td>${escaped}</td>`);
    const page = await vera.get(`/console/batches/${submitted.batchId}`);
    expect(page.text).toContain(`<dd>${escaped}</dd>`);
    for (const text of [list.text, page.text]) expect(text).not.toContain('<img');
  });

  it('serves at most 100 streams per process (503 beyond), and ends them all at once when the dashboard closes', async () => {
    const other = await startConsole(stack);
    const cookie = await sessionCookie(other.url, 'vera');
    const streams = await Promise.all(Array.from({ length: 100 }, () => openEvents(other.url, cookie)));
    expect(streams.map((s) => s.response.status)).toEqual(Array(100).fill(200));
    await streams[0]!.until((f) => f.batchId === batchId);
    const beyond = await fetch(`${other.url}/console/events`, { headers: { cookie, accept: 'text/event-stream' } });
    expect([beyond.status, beyond.headers.get('retry-after')]).toEqual([503, '30']);
    const started = Date.now();
    await other.close();
    expect(Date.now() - started).toBeLessThan(3000);
    expect(await Promise.all(streams.map((s) => s.ended(3000)))).toEqual(Array(100).fill(true));
  });
});

async function downloadFolders(): Promise<string[]> {
  return (await readdir(tmpdir())).filter((name) => name.startsWith('stipend-console-report-'));
}
