import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { stringify } from 'csv-stringify';
import type { StipendContext } from '../context.js';
import type { BatchRow } from '../ledger/batch-rows.js';
import { type BatchRecord, isSettled } from '../ledger/batches.js';
import { FINAL_STATUSES, type PaymentRecord } from '../ledger/payments.js';
import { formatDollars } from '../money.js';
import { MANIFEST_COLUMNS, manifestCells } from './manifest-columns.js';
import { writeRejectedCsv } from './rejected-csv.js';
import { rememberReportFolder } from './report-folder.js';
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
/** One line of the report: its cells in REPORT_COLUMNS order (no object for csv-stringify to look fields up in), and what the summary counts. */
interface ReportLine {
  cells: (string | number)[];
  status: ReportStatus;
  cents: number | undefined;
}

/**
 * Report statuses: the payment statuses, the two kinds of row that were never queued, and
 * `awaiting_approval`: a queued payment of a batch still waiting for `stipend approve`, which has no
 * job yet (finance should not read it as on its way).
 */
export type ReportStatus = PaymentRecord['status'] | 'rejected' | 'skipped_duplicate' | 'awaiting_approval';

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
 * commands that change the batch later rewrite it (report-folder.ts).
 */
export async function writeReconciliation(
  context: StipendContext,
  batchId: string,
  outDir: string,
): Promise<{ dir: string; csv: string; summary: BatchSummary; rejected?: { path: string; problems: number } }> {
  const batch = await context.batches.get(batchId);
  const dir = join(outDir, batchId);
  await mkdir(dir, { recursive: true });
  const csvPath = join(dir, 'reconciliation.csv');
  const statuses: BatchSummary['statuses'] = {};
  const stringifier = stringify({ header: true, columns: [...REPORT_COLUMNS], cast: { string: safeCell } });
  const written = pipeline(stringifier, createWriteStream(csvPath));
  const pages = context.rows.pages(batchId);
  const readNext = async () => {
    const page = await pages.next();
    return page.done ? undefined : reportLines(context, batch, page.value);
  };
  let next = readNext();
  for (let lines = await next; lines !== undefined; lines = await next) {
    next = readNext();
    // If writing fails, the read under way is abandoned: its failure must not go unhandled.
    next.catch(() => {});
    for (const line of lines) {
      const tally = (statuses[line.status] ??= { count: 0, cents: 0 });
      tally.count += 1;
      tally.cents += line.cents ?? 0;
      if (!stringifier.write(line.cells)) await once(stringifier, 'drain');
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
  await rememberReportFolder(context, batchId, outDir);
  return { dir, csv: csvPath, summary, ...(rejected === undefined ? {} : { rejected }) };
}

/** The batch's counts as kept by the ledger, without reading its rows. */
export function ledgerTotals(batch: BatchRecord): Record<(typeof FINAL_STATUSES)[number], { count: number; cents: number }> {
  return Object.fromEntries(FINAL_STATUSES.map((s) => [s, { count: batch[`n_${s}`], cents: batch[`c_${s}`] }])) as never;
}

/**
 * The payment record fields a report line shows, read with HMGET rather than the whole record
 * (HGETALL): of the rest, nothing is shown. `fields` is read whole (one JSON value) but only the
 * manifest columns' values are taken from it (manifest-columns.ts).
 */
const SHOWN = [
  'batch_id', 'line', 'payee', 'amount_cents', 'status', 'reference', 'code', 'message', 'attempts', 'submitted_at', 'settled_at',
  'reversal_reference', 'reversal_code', 'reversal_message', 'reversal_reason', 'reversal_by', 'reversal_settled_at', 'reversal_requested_at',
  'conflict_code', 'conflict_reference', 'fields', 'participant_id', 'reimbursement',
] as const;
type Shown = Record<(typeof SHOWN)[number], string | null>;

async function reportLines(context: StipendContext, batch: BatchRecord, page: BatchRow[]): Promise<ReportLine[]> {
  // A payment row's own record, or for a duplicate the record of the batch that holds the payment.
  const read = context.redis.pipeline();
  for (const row of page) {
    if (row.s !== 'rejected') read.hmget(context.keys.payment(batch.provider, batch.account, row.s === 'duplicate' ? row.h : batch.batch_id, row.p), ...SHOWN);
  }
  const results = (await read.exec()) ?? [];
  const cellsOf = manifestCells(batch.provider);
  let next = 0;
  return page.map((row) => {
    if (row.s === 'rejected') {
      // Never recorded: the manifest's values of a rejected row are in the manifest only.
      return line(batch, row.l, row.p ?? '', row.y ?? '', row.a, 'rejected', { message: row.m }, cellsOf(undefined));
    }
    const record = shown(results[next++]?.[1] as (string | null)[] | undefined);
    if (row.s === 'duplicate') {
      const original = record ? `batch ${record.batch_id} line ${record.line}, status ${record.status}` : `batch ${row.h}`;
      // The ledger keeps one record per payment: its manifest values are those of the batch holding it.
      return line(batch, row.l, row.p, row.y, row.a, 'skipped_duplicate', { reference: record?.reference ?? '', message: `already submitted: ${original}; not paid again` }, cellsOf(record));
    }
    if (!record) {
      return line(batch, row.l, row.p, '', undefined, 'unknown', { message: 'payment record missing from the ledger' }, cellsOf(undefined));
    }
    return line(batch, row.l, row.p, record.payee ?? '', Number(record.amount_cents), reportStatus(batch, record.status), record, cellsOf(record));
  });
}

/** A queued payment of a batch awaiting approval has no job: nothing is on its way until it is approved. */
function reportStatus(batch: BatchRecord, status: string | null): ReportStatus {
  return status === 'queued' && batch.state === 'awaiting_approval' ? 'awaiting_approval' : (status as ReportStatus);
}

/** HMGET's answer as named fields; undefined when the record does not exist. */
function shown(values: (string | null)[] | undefined): Shown | undefined {
  if (!values || values[SHOWN.indexOf('status')] === null) return undefined;
  const record = {} as Shown;
  SHOWN.forEach((field, i) => (record[field] = values[i] ?? null));
  return record;
}

function line(
  batch: BatchRecord, lineNumber: number, paymentId: string, payee: string, cents: number | undefined, status: ReportStatus,
  r: Partial<Shown>, manifest: string[],
): ReportLine {
  const cells = [
    batch.batch_id, lineNumber, paymentId, batch.provider, batch.account, payee, cents ?? '', cents === undefined ? '' : formatDollars(cents), status,
    r.reference ?? '', r.code ?? '', r.message ?? '', Number(r.attempts ?? 0), r.submitted_at ?? '', r.settled_at ?? '',
    r.reversal_reference ?? '', r.reversal_code ?? '', r.reversal_message ?? '', r.reversal_reason ?? '', r.reversal_by ?? '',
    r.reversal_settled_at ?? r.reversal_requested_at ?? '',
    conflictCell(r),
    ...manifest,
  ];
  return { cells, status, cents };
}

/** `LATE_PAID_AFTER_NOT_PAID (reference T-123)`, or empty when the payment has no conflict. */
function conflictCell(r: Partial<Shown>): string {
  if (!r.conflict_code) return '';
  return r.conflict_reference ? `${r.conflict_code} (reference ${r.conflict_reference})` : r.conflict_code;
}

function money(count: number, cents: number) {
  return { count, cents, amount: formatDollars(cents) };
}
