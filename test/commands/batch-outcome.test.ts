import { expect, it } from 'vitest';
import { needsActionLine, settledExitCode } from '../../src/commands/batch-outcome.js';
import { EXIT } from '../../src/commands/exit-codes.js';
import type { BatchRecord } from '../../src/ledger/batches.js';

/** Issue 12 item 10: the exit code of a settled run or retry, and the line that says what is left, from the batch's counts. */

const settled = (counts: Partial<BatchRecord>): BatchRecord => ({
  batch_id: 'B-1', state: 'enqueued', accepted: 10, final: 10, n_conflict: 0,
  n_paid: 0, c_paid: 0, n_declined: 0, c_declined: 0, n_failed: 0, c_failed: 0, n_unknown: 0, c_unknown: 0,
  n_reversing: 0, c_reversing: 0, n_reversed: 0, c_reversed: 0, n_reversal_unknown: 0, c_reversal_unknown: 0,
  ...counts,
}) as BatchRecord;

it('is 0 when every row is paid or declined (reversed ones too), with nothing more to say', () => {
  const done = settled({ n_paid: 7, n_declined: 2, n_reversed: 1 });
  expect(settledExitCode(done)).toBe(EXIT.ok);
  expect(needsActionLine(done)).toBeUndefined();
});

it('is 5 when rows failed and none needs a person: stipend retry may finish the batch', () => {
  const batch = settled({ n_paid: 8, n_failed: 2 });
  expect(settledExitCode(batch)).toBe(EXIT.someFailed);
  expect(needsActionLine(batch)).toBe('2 payments failed: see stipend status B-1 --problems');
});

it('is 6 when a row is unknown, a reversal unknown, or an answer conflicts, failures or not', () => {
  for (const counts of [{ n_unknown: 1 }, { n_reversal_unknown: 1 }, { n_conflict: 1 }, { n_unknown: 3, n_failed: 2 }]) {
    expect(settledExitCode(settled({ n_paid: 5, ...counts })), JSON.stringify(counts)).toBe(EXIT.needsPerson);
  }
});

it('names each kind with the right plural and thousands separators, a person\'s work first', () => {
  expect(needsActionLine(settled({ n_unknown: 3, n_failed: 2 }))).toBe('3 payments need a person (unknown), 2 payments failed: see stipend status B-1 --problems');
  expect(needsActionLine(settled({ n_unknown: 1_234, n_reversal_unknown: 1, n_conflict: 2, n_failed: 1 }))).toBe(
    '1,234 payments need a person (unknown), 1 reversal needs a person (reversal_unknown), 2 conflicting paid answers to check with the provider, 1 payment failed: see stipend status B-1 --problems',
  );
});
