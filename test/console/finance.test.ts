import { readFile, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { submitManifest } from '../../src/batches/submit.js';
import { waitForBatch } from '../../src/batches/wait.js';
import { downloadFolderPrefix } from '../../src/console/download.js';
import type { RunningDashboard } from '../../src/dashboard/server.js';
import { writeFinanceExport } from '../../src/reports/finance-export.js';
import { writeTaxExport } from '../../src/reports/tax-export.js';
import { addPerson, signIn, startConsole, type Browser } from '../helpers/console.js';
import { parseReport, startStack, type TestStack } from '../helpers/stack.js';

/** The finance page: the period export and the tax year, downloaded as the CLI writes them. */

let stack: TestStack;
let console_: RunningDashboard;
let fay: Browser;
const today = new Date().toISOString().slice(0, 10);
const year = today.slice(0, 4);

beforeAll(async () => {
  stack = await startStack({ providers: ['ctpayer'] });
  console_ = await startConsole(stack);
  await addPerson(stack, 'fay', 'viewer');
  fay = await signIn(console_.url, 'fay');
  const workers = await stack.startWorkers();
  try {
    const file = await stack.manifest('finance.csv', 'payment_id,cardId,amount,description,groupId\nfi-1,1000000001,12.50,Visit stipend,SITE-A\nfi-2,1000000002,30.00,Visit stipend,SITE-B\n');
    const submitted = await submitManifest(stack.context, { file, account: stack.account('ctpayer') });
    if (!submitted.accepted) throw new Error('refused');
    await waitForBatch(stack.context, submitted.batchId, { pollMs: 50 });
  } finally {
    await workers.close();
  }
});
afterAll(async () => {
  await console_?.close();
  await stack?.close();
});

/** This console's download folders still on the disk: none, once every answer is sent. */
const leftFolders = async () => (await readdir(tmpdir())).filter((name) => name.startsWith(downloadFolderPrefix(stack.prefix)));

describe('the finance page', () => {
  it('offers the export and the tax year as labelled GET forms', async () => {
    const page = await fay.get('/console/finance');
    expect(page.status).toBe(200);
    for (const part of [
      'action="/console/finance/export.csv"', '<label for="from">From<input id="from" name="from" type="date"', '<label for="to">To<input id="to" name="to" type="date"',
      '<label for="groupBy">Group by<select id="groupBy" name="groupBy"><option value="provider">', '<option value="groupId">', '>Download export</button>',
      'action="/console/finance/tax.csv"', '<label for="year">Tax year<input id="year" name="year" type="number"', '>Download tax year</button>',
    ]) expect(page.text).toContain(part);
  });

  it('downloads the export the CLI writes: the same rows and totals, in cents and dollars', async () => {
    const rows = await fay.get(`/console/finance/export.csv?from=${today}&to=${today}&groupBy=groupId`);
    expect(rows.status).toBe(200);
    expect(rows.headers.get('content-type')).toMatch(/^text\/csv/);
    expect(rows.headers.get('content-disposition')).toBe(`attachment; filename=export-${today}-to-${today}.csv`);
    expect(rows.headers.get('cache-control')).toBe('no-store');
    const totals = await fay.get(`/console/finance/export.totals.csv?from=${today}&to=${today}&groupBy=groupId`);
    expect(totals.status).toBe(200);

    const cli = await writeFinanceExport(stack.context, { from: today, to: today, groupBy: 'groupId', out: join(stack.dir, 'cli-export.csv') });
    expect(rows.text).toBe(await readFile(cli.rowsFile, 'utf8'));
    expect(totals.text).toBe(await readFile(cli.totalsFile, 'utf8'));
    expect(parseReport(rows.text).map((r) => [r.payment_id, r.amount_cents, r.amount, r.status])).toEqual([['fi-1', '1250', '12.50', 'paid'], ['fi-2', '3000', '30.00', 'paid']]);
    expect(parseReport(totals.text)).toEqual([
      { group_by: 'groupId', group: 'SITE-A', status: 'paid', payments: '1', amount_cents: '1250', amount: '12.50' },
      { group_by: 'groupId', group: 'SITE-B', status: 'paid', payments: '1', amount_cents: '3000', amount: '30.00' },
    ]);
    expect(await leftFolders()).toEqual([]);
  });

  it('downloads the tax year the CLI writes', async () => {
    const tax = await fay.get(`/console/finance/tax.csv?year=${year}`);
    expect(tax.status).toBe(200);
    expect(tax.headers.get('content-disposition')).toBe(`attachment; filename=tax-${year}.csv`);
    const cli = await writeTaxExport(stack.context, { year, out: join(stack.dir, 'cli-tax.csv') });
    expect(tax.text).toBe(await readFile(cli.file, 'utf8'));
    expect(parseReport(tax.text).map((r) => [r.participant, r.taxable_cents])).toEqual([['ctpayer/main/1000000001', '1250'], ['ctpayer/main/1000000002', '3000']]);
    expect(await leftFolders()).toEqual([]);
  });

  it('refuses impossible days, periods and years with one line (400), writing nothing', async () => {
    for (const [query, message] of [
      ['from=2026-02-30&to=2026-03-01', 'From: 2026-02-30 is not a day in the calendar'],
      ['from=2026-03-02&to=2026-03-01', 'From (2026-03-02) must not be after To (2026-03-01)'],
      ['from=yesterday&to=2026-03-01', 'From: must be a date like 2026-11-01'],
      ['from=2026-01-01&to=99999-01-01', 'To: must be a date like 2026-11-01'],
      ['from=2026-01-01', 'From and To are both needed'],
      ['from=2026-01-01&from=2026-01-02&to=2026-01-03', 'From: give one value'],
      [`from=${today}&to=${today}&groupBy=payee`, 'Group by: one of provider, account, groupId, batch'],
    ]) {
      const answer = await fay.get(`/console/finance/export.csv?${query}`);
      expect([answer.status, answer.headers.get('content-disposition')], query).toEqual([400, null]);
      expect(answer.headers.get('content-type')).toMatch(/^text\/html/);
      expect(answer.text, query).toContain(message);
    }
    for (const [query, message] of [['year=99999', 'Tax year: must be a year like 2026'], ['year=20x6', 'Tax year: must be a year like 2026'], ['year=', 'Tax year is needed']]) {
      const answer = await fay.get(`/console/finance/tax.csv?${query}`);
      expect(answer.status, query).toBe(400);
      expect(answer.text).toContain(message);
    }
    expect(await leftFolders()).toEqual([]);
    await expect(readdir(join(stack.dir, 'reports'))).rejects.toThrow(/ENOENT/);
  });
});
