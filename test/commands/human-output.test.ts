import { expect, it } from 'vitest';
import { describeBatch, describeScan, printProblems } from '../../src/commands/output.js';
import { plural, usd } from '../../src/readable-numbers.js';
import type { BatchRecord } from '../../src/ledger/batches.js';
import type { ManifestScan } from '../../src/manifest/index.js';

/** What people read: amounts with thousands separators, counts with the right plural (issue 12, items 5e and 14). */

it('writes dollar amounts with thousands separators, from integer cents', () => {
  expect(usd(0)).toBe('$0.00');
  expect(usd(5)).toBe('$0.05');
  expect(usd(99_999)).toBe('$999.99');
  expect(usd(100_000)).toBe('$1,000.00');
  expect(usd(259_950_000)).toBe('$2,599,500.00');
  expect(usd(999_999_999_999)).toBe('$9,999,999,999.99');
  expect(usd(-123_456)).toBe('-$1,234.56');
  expect(() => usd(1.5)).toThrow(RangeError);
});

it('says 1 row, 2 rows', () => {
  expect(plural(1, 'row')).toBe('1 row');
  expect(plural(0, 'row')).toBe('0 rows');
  expect(plural(2, 'file problem')).toBe('2 file problems');
  expect(plural(1_234, 'payment')).toBe('1,234 payments');
});

const scan = (over: Partial<ManifestScan>): ManifestScan => ({
  sha256: 'x', dataRows: 1, validRows: 1, validCents: 1250, fileProblems: [], rowProblems: [], rowProblemCount: 0, rejectedRows: 0, ...over,
});

it('describes a manifest in the singular and the plural, with separated dollars', () => {
  expect(describeScan(scan({}))).toBe('1 row: 1 valid ($12.50), 0 with problems');
  expect(describeScan(scan({ dataRows: 2_000, validRows: 1_999, validCents: 259_950_000, rejectedRows: 1, fileProblems: [{ line: 1, message: 'm' }] })))
    .toBe('2,000 rows: 1,999 valid ($2,599,500.00), 1 with problems, 1 file problem');
  expect(describeScan(scan({ fileProblems: [{ line: 1, message: 'a' }, { line: 1, message: 'b' }] }))).toMatch(/, 2 file problems$/);
});

it('says how many more row problems there are, in the singular too', () => {
  const lines: string[] = [];
  printProblems(scan({ rowProblems: [{ line: 2, message: 'bad' }], rowProblemCount: 2 }), (line) => lines.push(line));
  expect(lines).toEqual(['line 2: bad', '… and 1 more row problem']);
});

it('describes a batch with separated dollars and the right plurals', () => {
  const batch = {
    accepted: 3_001, final: 3_000, rejected: 1, duplicates: 1, n_conflict: 1,
    n_paid: 2_999, c_paid: 259_950_000, n_declined: 1, c_declined: 300, n_failed: 0, c_failed: 0, n_unknown: 0, c_unknown: 0,
    n_reversing: 0, c_reversing: 0, n_reversed: 0, c_reversed: 0, n_reversal_unknown: 0, c_reversal_unknown: 0,
  } as unknown as BatchRecord;
  expect(describeBatch(batch)).toBe('2,999 paid ($2,599,500.00), 1 declined ($3.00), 1 pending, 1 rejected, 1 skipped as a duplicate, 1 with a conflicting paid answer');
});
