import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { stringify } from 'csv-stringify';
import type { StipendContext } from '../context.js';
import { joinInside } from '../join-inside.js';
import { type BatchRecord, isSettled } from '../ledger/batches.js';
import { formatDollars } from '../money.js';
import { MANIFEST_COLUMNS, manifestCells } from './manifest-columns.js';
import { writeRejectedCsv } from './rejected-csv.js';
import { rememberReportFolder } from './report-folder.js';
import { type ReportRow, type ReportStatus, conflictOf, reportRows } from './report-rows.js';
import { safeCell } from './safe-cell.js';

export const REPORT_COLUMNS = [
  'batch_id', 'line', 'payment_id', 'provider', 'account', 'payee', 'amount_cents', 'amount', 'status',
  'provider_reference', 'provider_code', 'message', 'attempts', 'submitted_at', 'settled_at',
  // The latest reversal asked for (stipend reverse): also a refused one, on a row still paid.
  'reversal_reference', 'reversal_code', 'reversal_message', 'reversal_reason', 'reversal_by', 'reversal_at',
  // A paid answer the ledger recorded as a conflict instead of taking it (code and the answer's
  // reference): the row's status is kept, and a person must check it with the provider.
  'conflict',
  // Columns are only ever added at the end, so spreadsheets reading the earlier ones by position
  // keep working.
  ...MANIFEST_COLUMNS,
] as const;

export interface BatchSummary {
  batch_id: string;
  provider: string;
  account: string;
  source: string;
  sha256: string;
  created_at: string;
  /** True once every accepted payment has a final status. */
  complete: boolean;
  rows: number;
  statuses: Partial<Record<ReportStatus, { count: number; cents: number }>>;
  requested: { count: number; cents: number; amount: string };
  /** Paid and still held by the payees: reversed payments are counted under `reversed` instead. */
  paid: { count: number; cents: number; amount: string };
  reversed: { count: number; cents: number; amount: string };
  /** Payments with a conflicting paid answer (the report's `conflict` column): each needs a person. */
  conflicts: number;
}

/**
 * Writes <out>/<batchId>/reconciliation.csv (every manifest row, in file order, with its status),
 * summary.json and, for a batch with rows --allow-partial left out, rejected.csv (rejected-csv.ts).
 * Everything comes from the ledger, a page of rows at a time, so the report always matches the
 * ledger and memory stays flat for large batches. The next page is read from Redis
 * while the current one is written. `outDir` is remembered as the batch's report folder, where
 * commands that change the batch later rewrite it (report-folder.ts), unless `remember` is false: a
 * copy written for a download, in a folder removed once sent, must not become the batch's report folder.
 */
export async function writeReconciliation(
  context: StipendContext,
  batchId: string,
  outDir: string,
  { remember = true }: { remember?: boolean } = {},
): Promise<{ dir: string; csv: string; summary: BatchSummary; rejected?: { path: string; problems: number } }> {
  const batch = await context.batches.get(batchId);
  const dir = joinInside(outDir, batchId);
  await mkdir(dir, { recursive: true });
  const csvPath = join(dir, 'reconciliation.csv');
  const statuses: BatchSummary['statuses'] = {};
  const stringifier = stringify({ header: true, columns: [...REPORT_COLUMNS], cast: { string: safeCell } });
  const written = pipeline(stringifier, createWriteStream(csvPath));
  const cellsOf = manifestCells(batch.provider);
  for await (const rows of reportRows(context, batch)) {
    for (const row of rows) {
      const tally = (statuses[row.status] ??= { count: 0, cents: 0 });
      tally.count += 1;
      tally.cents += row.cents ?? 0;
      if (!stringifier.write(reportCells(batch, row, cellsOf(row.manifest)))) await once(stringifier, 'drain');
    }
  }
  stringifier.end();
  await written;

  const summary: BatchSummary = {
    batch_id: batch.batch_id,
    provider: batch.provider,
    account: batch.account,
    source: batch.source,
    sha256: batch.sha256,
    created_at: batch.created_at,
    complete: isSettled(batch),
    rows: batch.rows_total,
    statuses,
    requested: money(batch.accepted, batch.accepted_cents),
    paid: money(statuses.paid?.count ?? 0, statuses.paid?.cents ?? 0),
    reversed: money(statuses.reversed?.count ?? 0, statuses.reversed?.cents ?? 0),
    conflicts: batch.n_conflict,
  };
  await writeFile(join(dir, 'summary.json'), `${JSON.stringify(summary, null, 2)}\n`);
  const rejected = await writeRejectedCsv(context, batch, dir);
  // An archived batch keeps nothing in Redis: its report folder is not remembered either.
  if (remember && batch.archived_at === undefined) await rememberReportFolder(context, batchId, outDir);
  return { dir, csv: csvPath, summary, ...(rejected === undefined ? {} : { rejected }) };
}

/** A row's cells in REPORT_COLUMNS order (no object for csv-stringify to look fields up in). */
function reportCells(batch: BatchRecord, row: ReportRow, manifest: string[]): (string | number)[] {
  const r = row.ledger;
  return [
    batch.batch_id, row.line, row.paymentId, batch.provider, batch.account, row.payee, row.cents ?? '', row.cents === undefined ? '' : formatDollars(row.cents), row.status,
    r.reference ?? '', r.code ?? '', r.message ?? '', Number(r.attempts ?? 0), r.submitted_at ?? '', r.settled_at ?? '',
    r.reversal_reference ?? '', r.reversal_code ?? '', r.reversal_message ?? '', r.reversal_reason ?? '', r.reversal_by ?? '',
    r.reversal_settled_at ?? r.reversal_requested_at ?? '',
    conflictOf(r),
    ...manifest,
  ];
}

function money(count: number, cents: number) {
  return { count, cents, amount: formatDollars(cents) };
}
