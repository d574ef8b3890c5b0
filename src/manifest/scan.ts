import type { AnyAdapter } from '../providers/index.js';
import { createHash } from 'node:crypto';
import { DuplicateIndex } from './duplicate-index.js';
import { ManifestContentError } from './errors.js';
import type { Problem } from './problems.js';
import { checkRows } from './rows.js';
import { sha256File } from './sha256-file.js';
import type { CheckedRow } from './validate-row.js';

export interface ManifestScan {
  /** Hex SHA-256 of the file's bytes. */
  sha256: string;
  /** Data rows seen (blank rows not counted); a file problem that stops the reading stops the count. */
  dataRows: number;
  validRows: number;
  /** What the valid rows add up to, in cents: the figure a person checks before money moves. */
  validCents: number;
  /** Problems that reject the manifest whatever --allow-partial says. */
  fileProblems: Problem[];
  /** Per-row problems, the first KEPT_PROBLEMS of them. */
  rowProblems: Problem[];
  /** All per-row problems, kept or not. */
  rowProblemCount: number;
  /** Rows with at least one row problem. */
  rejectedRows: number;
}

// Problems kept for the report; a huge garbage file must not grow memory with its mistakes.
const KEPT_PROBLEMS = 1000;

/** How far a scan has read: data rows, and bytes of the file. */
export interface ScanProgress {
  rows: number;
  bytes: number;
}

/**
 * Pass 1: reads the whole manifest and reports everything wrong with it. Bad content never
 * throws; a file that cannot be read at all throws ManifestFileError. `onProgress` hears how far
 * it has read after each batch of rows, for the progress lines of a long scan.
 */
export async function scanManifest(path: string, adapter: AnyAdapter, onProgress?: (read: ScanProgress) => void): Promise<ManifestScan> {
  // The bytes are hashed as they are read for the scan, rather than read a second time.
  const hash = createHash('sha256');
  let bytes = 0;
  const onBytes = (piece: Buffer) => {
    hash.update(piece);
    bytes += piece.length;
  };
  const { readWhole, ...scan } = await scanRows(path, adapter, onBytes, (rows) => onProgress?.({ rows, bytes }));
  // A scan stopped by a file problem read only part of the file.
  return { sha256: readWhole ? hash.digest('hex') : await sha256File(path), ...scan };
}

async function scanRows(
  path: string,
  adapter: AnyAdapter,
  onBytes: (bytes: Buffer) => void,
  onRows: (rows: number) => void,
): Promise<Omit<ManifestScan, 'sha256'> & { readWhole: boolean }> {
  const scan = { dataRows: 0, validRows: 0, validCents: 0, rowProblems: [] as Problem[], rowProblemCount: 0, rejectedRows: 0 };
  const fileProblems = new FileProblems();
  const seen = new DuplicateIndex();
  try {
    for await (const batch of checkRows(path, adapter, onBytes)) {
      for (const checked of batch) {
        const { row, cardNumbers } = checked;
        scan.dataRows += 1;
        for (const problem of cardNumbers) fileProblems.add(problem);
        const duplicate = duplicateProblem(checked, seen);
        if (duplicate !== undefined) fileProblems.add(duplicate);
        if (row.ok) {
          scan.validRows += 1;
          scan.validCents += row.payment.amountCents;
          continue;
        }
        const problems = row.problems.filter((p) => !cardNumbers.includes(p));
        if (problems.length === 0) continue;
        scan.rejectedRows += 1;
        scan.rowProblemCount += problems.length;
        scan.rowProblems.push(...problems.slice(0, KEPT_PROBLEMS - scan.rowProblems.length));
      }
      onRows(scan.dataRows);
    }
  } catch (error) {
    if (!(error instanceof ManifestContentError)) throw error;
    for (const problem of error.problems) fileProblems.add(problem);
    return { ...scan, fileProblems: fileProblems.list(), readWhole: false };
  }
  return { ...scan, fileProblems: fileProblems.list(), readWhole: true };
}

/** The same payment twice in one manifest: by payment_id, or identical rows (same derived id). */
function duplicateProblem({ row, paymentIdGiven }: CheckedRow, seen: DuplicateIndex): Problem | undefined {
  const paymentId = row.ok ? row.payment.paymentId : row.paymentId;
  if (paymentId === undefined) return undefined;
  const first = seen.firstLine(paymentId, row.line);
  if (first === undefined) return undefined;
  return paymentIdGiven
    ? { line: row.line, column: 'payment_id', message: `the same payment as line ${first} (payment_id ${paymentId})` }
    : {
        line: row.line,
        message: `the same payment as line ${first} (identical rows: same payee, amount and fields); if both are meant to be paid, give each its own payment_id`,
      };
}

/** File problems, at most KEPT_PROBLEMS of them and then one line saying how many more there are. */
class FileProblems {
  private readonly kept: Problem[] = [];
  private firstHiddenLine = 0;
  private hidden = 0;

  add(problem: Problem): void {
    if (this.kept.length < KEPT_PROBLEMS) {
      this.kept.push(problem);
      return;
    }
    if (this.hidden === 0) this.firstHiddenLine = problem.line;
    this.hidden += 1;
  }

  list(): Problem[] {
    if (this.hidden === 0) return this.kept;
    return [...this.kept, { line: this.firstHiddenLine, message: `and ${this.hidden.toLocaleString('en-US')} more problems like the ones above from this line on` }];
  }
}
