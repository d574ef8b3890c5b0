import type { BatchRecord } from '../ledger/batches.js';
import { FINAL_STATUSES } from '../ledger/payments.js';
import { type ManifestScan, formatProblem } from '../manifest/index.js';
import { count, plural, usd } from '../readable-numbers.js';

/** What commands print for people. Machine-readable output is JSON, chosen with --json. */

export function printProblems(scan: ManifestScan, write: (line: string) => void): void {
  for (const problem of [...scan.fileProblems, ...scan.rowProblems]) write(formatProblem(problem));
  const hidden = scan.rowProblemCount - scan.rowProblems.length;
  if (hidden > 0) write(`… and ${plural(hidden, 'more row problem')}`);
}

export function describeScan(scan: ManifestScan): string {
  const problems = scan.fileProblems.length ? `, ${plural(scan.fileProblems.length, 'file problem')}` : '';
  return `${plural(scan.dataRows, 'row')}: ${count(scan.validRows)} valid (${usd(scan.validCents)}), ${count(scan.rejectedRows)} with problems${problems}`;
}

export function describeBatch(batch: BatchRecord): string {
  const parts = FINAL_STATUSES.filter((s) => batch[`n_${s}`] > 0).map((s) => `${count(batch[`n_${s}`])} ${s} (${usd(batch[`c_${s}`])})`);
  const pending = batch.accepted - batch.final;
  if (pending > 0) parts.push(`${count(pending)} pending`);
  if (batch.rejected > 0) parts.push(`${count(batch.rejected)} rejected`);
  if (batch.duplicates > 0) parts.push(plural(batch.duplicates, 'skipped as a duplicate', 'skipped as duplicates'));
  if (batch.n_conflict > 0) parts.push(`${count(batch.n_conflict)} with a conflicting paid answer`);
  return parts.join(', ') || 'no rows';
}
