import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { personHere } from '../../src/audit/actor.js';
import { cancelBatch } from '../../src/batches/cancel.js';
import { submitManifest } from '../../src/batches/submit.js';
import { waitForBatch } from '../../src/batches/wait.js';
import { writeFinanceExport } from '../../src/reports/finance-export.js';
import { reversePayments } from '../../src/reversals/reverse.js';
import { parseReport, startStack, type TestStack } from '../helpers/stack.js';
import { stipend } from '../helpers/stipend-process.js';

/**
 * Issue 12, a finance team's first week: a reversal in the period, `export tax --out`, dates that
 * are not days, and canceled batches, through the command as an operator runs it.
 */

let stack: TestStack;
let configFile: string;
let reportsDir: string;
const today = new Date().toISOString().slice(0, 10);

beforeAll(async () => {
  // Batches above $600 wait for approval, so one can be canceled before anything is sent.
  stack = await startStack({ providers: ['ctpayer'], account: { approval: { above: '600.00' } } });
  await stack.startWorkers();
  reportsDir = join(stack.dir, 'reports');
  configFile = join(stack.dir, 'with-reports.json');
  await writeFile(configFile, JSON.stringify({ ...JSON.parse(await readFile(stack.configFile, 'utf8')), reportsDir }));

  const paid = await submit('paid.csv', ['payment_id,cardId,amount,description', 'fw-1,1000000001,479.90,Visit 1', 'fw-2,1000000002,20.00,Visit 1']);
  await waitForBatch(stack.context, paid, { pollMs: 50 });
  const reversed = await reversePayments(stack.context, { batchId: paid, paymentIds: ['fw-1'], reason: 'Paid to the wrong participant' }, personHere('alice'));
  expect(reversed).toMatchObject([{ kind: 'reversed' }]);
  await cancelBatch(stack.context, await submit('held.csv', ['payment_id,cardId,amount,description', 'fw-3,1000000003,700.00,Visit 2']), { identity: 'olga' });
}, 60_000);
afterAll(() => stack?.close());

async function submit(name: string, lines: string[]): Promise<string> {
  const submitted = await submitManifest(stack.context, { file: await stack.manifest(name, lines.join('\n')), account: stack.account('ctpayer') });
  if (!submitted.accepted) throw new Error(`${name} refused`);
  return submitted.batchId;
}

const run = (...args: string[]) => stipend(['--config', configFile, ...args]);

it('exports a period with a reversal in it: negative amounts, no stack trace', async () => {
  const out = join(stack.dir, 'period', 'week.csv');
  const result = await run('export', '--from', today, '--to', today, '--out', out);
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  expect(result.stdout).toContain('ctpayer\treversed\t1\t-$479.90\n');
  const rows = parseReport(await readFile(out, 'utf8'));
  expect(rows.filter((r) => r.payment_id === 'fw-1').map((r) => [r.status, r.amount_cents, r.amount])).toEqual([['paid', '47990', '479.90'], ['reversed', '-47990', '-479.90']]);
  expect(parseReport(await readFile(join(stack.dir, 'period', 'week.totals.csv'), 'utf8'))).toContainEqual(
    { group_by: 'provider', group: 'ctpayer', status: 'reversed', payments: '1', amount_cents: '-47990', amount: '-479.90' },
  );
});

it('leaves canceled payments out: they were never sent', async () => {
  const { totals, rowsFile } = await writeFinanceExport(stack.context, { from: today, to: today, out: join(stack.dir, 'canceled', 'week.csv') });
  expect(parseReport(await readFile(rowsFile, 'utf8')).map((r) => r.payment_id).sort()).toEqual(['fw-1', 'fw-1', 'fw-2']);
  expect(totals.map((t) => t.status)).toEqual(['paid', 'reversed']);
});

it('writes nothing when it cannot write everything, and says why in one line', async () => {
  const dir = join(stack.dir, 'blocked');
  // The totals file's place is taken by a folder: the payments file must not be left without it.
  await mkdir(join(dir, 'week.totals.csv'), { recursive: true });
  const result = await run('export', '--from', today, '--to', today, '--out', join(dir, 'week.csv'));
  expect(result.code).toBe(2);
  expect(result.stderr).toMatch(/^stipend: cannot write .*week\.totals\.csv: .+\n$/);
  expect(await readdir(dir)).toEqual(['week.totals.csv']);
});

it('writes the tax year to the file --out names, not under reportsDir', async () => {
  const out = join(stack.dir, 'tax', 'participants.csv');
  const result = await run('export', 'tax', '--year', today.slice(0, 4), '--out', out);
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  expect(result.stdout).toContain(`participants: ${out}\n`);
  // The reversed payment was paid and given back in the same year: nothing taxable is left of it.
  expect(parseReport(await readFile(out, 'utf8')).map((r) => [r.participant, r.taxable])).toEqual([['ctpayer/main/1000000001', '0.00'], ['ctpayer/main/1000000002', '20.00']]);
  expect(existsSync(reportsDir)).toBe(false);
});

it('refuses a date that is not a calendar day, for every date option, in one line', async () => {
  const out = join(stack.dir, 'dates', 'x.csv');
  for (const [option, args] of [
    ['--from', ['--from', '2026-02-30', '--to', '2026-03-31']],
    ['--to', ['--from', '2026-02-01', '--to', '2026-02-29']],
    ['--to', ['--from', '2026-01-01', '--to', '2026-13-01']],
    ['--from', ['--from', '2026-04-31', '--to', '2026-05-01']],
  ] as const) {
    const result = await run('export', ...args, '--out', out);
    expect(result.code, args.join(' ')).toBe(2);
    expect(result.stderr).toMatch(new RegExp(`^stipend: ${option}: \\d{4}-\\d{2}-\\d{2} is not a day in the calendar\\n$`));
  }
  expect(existsSync(join(stack.dir, 'dates'))).toBe(false);
  // A leap day is one.
  const leap = await run('export', '--from', '2024-02-29', '--to', '2024-02-29', '--out', out);
  expect(leap.code).toBe(0);
});
