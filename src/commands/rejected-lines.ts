import { formatProblem, type ManifestScan } from '../manifest/index.js';
import { plural } from '../readable-numbers.js';

/**
 * The problems of the rows `--allow-partial` leaves out, one line each as `validate` prints them
 * (at most the ones the scan keeps; a value they quote never shows a card number: quote.ts); then,
 * when more were found than kept, how many more and the file that lists them all (`rejectedCsv`,
 * once the batch's is written).
 */
export function printRejectedRows(scan: ManifestScan, write: (line: string) => void, rejectedCsv?: string): void {
  for (const problem of scan.rowProblems) write(formatProblem(problem));
  const hidden = scan.rowProblemCount - scan.rowProblems.length;
  if (hidden > 0) write(`… and ${plural(hidden, 'more row problem')}${rejectedCsv === undefined ? '' : `: see ${rejectedCsv}`}`);
}
