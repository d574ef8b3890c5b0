import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { stringify } from 'csv-stringify';
import type { StipendContext } from '../context.js';
import type { RejectedRow } from '../ledger/batch-rows.js';
import type { BatchRecord } from '../ledger/batches.js';
import { maskCardNumbers } from '../card-numbers.js';
import { safeCell } from './safe-cell.js';
import { writeWholeFiles } from './whole-files.js';

/** Beside reconciliation.csv: the problems of the rows `--allow-partial` left out, one per line. */
export const REJECTED_FILE = 'rejected.csv';
export const REJECTED_COLUMNS = ['line', 'column', 'problem'] as const;

/** One line of rejected.csv. `column` is empty for a problem of the whole row (e.g. a ragged row). */
export interface RejectedProblem {
  line: number;
  column: string;
  problem: string;
}

/**
 * Writes <dir>/rejected.csv from the ledger's rejected rows, in file order, when the batch has any;
 * a batch without them gets none (its rows are fixed once queued, so it never had one). Whole or
 * not at all (whole-files.ts), formula-safe (safe-cell.ts), card numbers masked
 * (card-numbers.ts: a row recorded by an earlier version may quote one).
 * Returns the file and how many problems it lists.
 */
export async function writeRejectedCsv(context: StipendContext, batch: BatchRecord, dir: string): Promise<{ path: string; problems: number } | undefined> {
  if (batch.rejected === 0) return undefined;
  const path = join(dir, REJECTED_FILE);
  const problems = await writeWholeFiles([path], async ([temp]) => {
    const stringifier = stringify({ header: true, columns: [...REJECTED_COLUMNS], cast: { string: safeCell } });
    const written = pipeline(stringifier, createWriteStream(temp!));
    // A file that cannot be written fails `written` while the ledger is read: awaited below, not unhandled meanwhile.
    written.catch(() => {});
    let count = 0;
    try {
      for await (const page of context.rows.pages(batch.batch_id)) {
        for (const row of page) {
          if (row.kind !== 'rejected') continue;
          for (const { line, column, problem } of rejectedProblems(row)) {
            count += 1;
            if (!stringifier.write([line, column, problem])) await once(stringifier, 'drain');
          }
        }
      }
    } catch (error) {
      // The ledger failed part-way: the temporary file is closed before whole-files removes it.
      stringifier.destroy(error as Error);
      await written.catch(() => {});
      throw error;
    }
    stringifier.end();
    await written;
    return count;
  });
  return { path, problems };
}

/**
 * A rejected row's problems, as queue/enqueue.ts recorded them: each with its column. A row recorded
 * before problems were kept one by one has their joined text only, shown as one problem of the row.
 */
export function rejectedProblems(row: RejectedRow): RejectedProblem[] {
  const problems = row.problems ?? [{ message: row.message }];
  return problems.map((problem) => ({ line: row.line, column: problem.column ?? '', problem: maskCardNumbers(problem.message) }));
}
