import { access, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { submitManifest } from '../../src/batches/submit.js';
import { printRejectedRows } from '../../src/commands/rejected-lines.js';
import type { ManifestScan } from '../../src/manifest/index.js';
import { writeReconciliation } from '../../src/reports/reconciliation.js';
import { rejectedProblems } from '../../src/reports/rejected-csv.js';
import { parseReport, startStack, type TestStack } from '../helpers/stack.js';
import { stipend } from '../helpers/stipend-process.js';

/** Issue 12 item 12: `run --allow-partial` lists the rows it leaves out and writes them to rejected.csv beside the report. */

let stack: TestStack;
beforeAll(async () => {
  stack = await startStack({ providers: ['ctpayer'] });
});
afterAll(() => stack?.close());

// Two bad rows among four good ones: a card id too short, and an amount with a currency symbol.
const MANIFEST = [
  'payment_id,cardId,amount,description',
  'rj-1,1000000001,10.00,Visit stipend',
  'rj-2,123,10.00,Visit stipend',
  'rj-3,1000000003,10.00,Visit stipend',
  'rj-4,1000000004,$12.50,Visit stipend',
  'rj-5,1000000005,12.50,Visit stipend',
].join('\n');

const EXPECTED = [
  { line: '3', column: 'cardId', problem: 'must be exactly 10 digits' },
  { line: '5', column: 'amount', problem: '"$12.50" has a currency symbol; write the number only' },
];

it('pays the good rows, lists the bad ones and writes exactly them to rejected.csv; report rewrites the same file', async () => {
  const file = await stack.manifest('partial.csv', MANIFEST);
  const out = join(stack.dir, 'out');
  const run = await stipend(['--config', stack.configFile, 'run', file, '--provider', 'ctpayer', '--allow-partial', '--with-worker', '--out', out]);
  expect(run.stderr).toBe('');
  expect(run.code).toBe(0);
  const batchId = /^batch (\S+):/m.exec(run.stdout)![1]!;
  const rejectedCsv = join(out, batchId, 'rejected.csv');

  expect(run.stdout).toContain(`2 rows left out, not paid (all in ${rejectedCsv}):\n`);
  expect(run.stdout).toMatch(/^line 3, column cardId: must be exactly 10 digits$/m);
  expect(run.stdout).toMatch(/^line 5, column amount: "\$12\.50" has a currency symbol/m);

  const paid = stack.sandboxes.ctpayer!.transactions().filter((t) => t.key?.startsWith('rj-')).map((t) => t.key).sort();
  expect(paid).toEqual(['rj-1', 'rj-3', 'rj-5']);

  const written = await readFile(rejectedCsv, 'utf8');
  expect(written.split('\n')[0]).toBe('line,column,problem');
  expect(parseReport(written)).toEqual(EXPECTED);

  // Written from the ledger: `stipend report` writes the same file again.
  const again = await stipend(['--config', stack.configFile, 'report', batchId, '--out', out]);
  expect(again.code).toBe(0);
  expect(await readFile(rejectedCsv, 'utf8')).toBe(written);
  const report = parseReport(await readFile(join(out, batchId, 'reconciliation.csv'), 'utf8'));
  expect(report.filter((r) => r.status === 'rejected').map((r) => r.line)).toEqual(['3', '5']);
});

it('a batch without rejected rows has no rejected.csv', async () => {
  const file = await stack.manifest('whole.csv', 'payment_id,cardId,amount,description\nrj-w1,1000000007,10.00,Visit stipend\n');
  const submitted = await submitManifest(stack.context, { file, account: stack.account('ctpayer'), allowPartial: true });
  if (!submitted.accepted) throw new Error('not accepted');
  const report = await writeReconciliation(stack.context, submitted.batchId, join(stack.dir, 'whole'));
  expect(report.rejected).toBeUndefined();
  await expect(access(join(report.dir, 'rejected.csv'))).rejects.toThrow(/ENOENT/);
});

it('a row with several problems is one line of rejected.csv per problem, in the order the ledger keeps them', async () => {
  const file = await stack.manifest('several.csv', 'payment_id,cardId,amount,description\nrj-s1,1000000008,10.00,Visit stipend\nrj-s2,1000000009,1e2,This description is far too long for CT Payer\n');
  const submitted = await submitManifest(stack.context, { file, account: stack.account('ctpayer'), allowPartial: true });
  if (!submitted.accepted) throw new Error('not accepted');
  const report = await writeReconciliation(stack.context, submitted.batchId, join(stack.dir, 'several'));
  expect(report.rejected).toEqual({ path: join(report.dir, 'rejected.csv'), problems: 2 });
  expect(parseReport(await readFile(report.rejected!.path, 'utf8'))).toEqual([
    { line: '3', column: 'amount', problem: '"1e2" uses exponent notation; write the amount out, like 1000.00' },
    { line: '3', column: 'description', problem: 'must be at most 30 characters (has 45)' },
  ]);
});

it('lists each problem the ledger kept with its column, whatever its text holds; a row kept as one text is one problem', () => {
  const problems = [{ message: 'has 3 cells but the header has 4 columns; every row needs one value' }, { column: 'x', message: 'bad; line 12, column y: not a problem of its own' }];
  expect(rejectedProblems({ kind: 'rejected', line: 12, message: 'ignored when problems are there', problems })).toEqual([
    { line: 12, column: '', problem: 'has 3 cells but the header has 4 columns; every row needs one value' },
    { line: 12, column: 'x', problem: 'bad; line 12, column y: not a problem of its own' },
  ]);
  expect(rejectedProblems({ kind: 'rejected', line: 9, message: 'line 9, column amount: bad; line 9: ragged' })).toEqual([
    { line: 9, column: '', problem: 'line 9, column amount: bad; line 9: ragged' },
  ]);
});

it('masks a card number in a problem a version before issue 13 recorded quoting one, showing its last four digits', () => {
  // Then a cell like "$4111 1111 1111 1111" was a row problem quoting it; now it rejects the manifest.
  const problems = [{ column: 'amount', message: '"$4111 1111 1111 1111" has a currency symbol; write the number only' }];
  expect(rejectedProblems({ kind: 'rejected', line: 5, message: 'ignored when problems are there', problems })).toEqual([
    { line: 5, column: 'amount', problem: '"$…1111" has a currency symbol; write the number only' },
  ]);
  expect(rejectedProblems({ kind: 'rejected', line: 6, message: 'line 6, column amount: "4111-1111-1111-1111 x" is not an amount' })).toEqual([
    { line: 6, column: '', problem: 'line 6, column amount: "…1111 x" is not an amount' },
  ]);
});

it('prints the problems the scan kept, then how many more and where they all are', () => {
  const scan = { rowProblems: [{ line: 2, column: 'amount', message: '"$12.50" has a currency symbol' }], rowProblemCount: 1_235 } as ManifestScan;
  const lines: string[] = [];
  printRejectedRows(scan, (line) => lines.push(line), 'out/b1/rejected.csv');
  expect(lines).toEqual(['line 2, column amount: "$12.50" has a currency symbol', '… and 1,234 more row problems: see out/b1/rejected.csv']);
});
