import type { BatchRecord } from '../ledger/batches.js';
import { EXIT } from './exit-codes.js';
import { plural } from '../readable-numbers.js';
import { PROBLEM_COUNTS } from './problem-counts.js';

/**
 * How a settled batch ended, for whoever runs `run` or `retry`: the exit code a scheduler acts on,
 * and the line telling a person what is left to do. Both from the batch record's counts alone, so
 * a batch of any size answers at once.
 */

/** Someone must look (6), `stipend retry` may finish it (5), or every row is paid or declined (0). */
export function settledExitCode(batch: BatchRecord): number {
  if (batch.n_unknown + batch.n_reversal_unknown + batch.n_conflict > 0) return EXIT.needsPerson;
  if (batch.n_failed > 0) return EXIT.someFailed;
  return EXIT.ok;
}

/** `3 payments need a person (unknown), 2 payments failed: see stipend status <id> --problems`; undefined when nothing is left to do. */
export function needsActionLine(batch: BatchRecord): string | undefined {
  const parts = [
    batch.n_unknown > 0 ? PROBLEM_COUNTS.unknown(batch.n_unknown) : '',
    batch.n_reversal_unknown > 0 ? PROBLEM_COUNTS.reversal_unknown(batch.n_reversal_unknown) : '',
    // The batch counts conflicting answers, not rows (a payment may get two): said as answers.
    batch.n_conflict > 0 ? `${plural(batch.n_conflict, 'conflicting paid answer')} to check with the provider` : '',
    batch.n_failed > 0 ? PROBLEM_COUNTS.failed(batch.n_failed) : '',
  ].filter(Boolean);
  return parts.length === 0 ? undefined : `${parts.join(', ')}: see stipend status ${batch.batch_id} --problems`;
}
