import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { stringify } from 'csv-stringify';
import type { StipendContext } from '../context.js';
import type { BatchRow } from '../ledger/batch-rows.js';
import { type BatchRecord, isSettled } from '../ledger/batches.js';
import { FINAL_STATUSES, parsePaymentRecord, type PaymentRecord } from '../ledger/payments.js';
import { formatDollars } from '../money.js';
import { safeCell } from './safe-cell.js';

export const REPORT_COLUMNS = [
  'batch_id', 'line', 'payment_id', 'provider', 'account', 'payee', 'amount_cents', 'amount', 'status',
  'provider_reference', 'provider_code', 'message', 'attempts', 'submitted_at', 'settled_at',
  // The latest reversal asked for (stipend reverse): also a refused one, on a row still paid.
  'reversal_reference', 'reversal_code', 'reversal_message', 'reversal_reason', 'reversal_by', 'reversal_at',
] as const;
type ReportLine = Record<(typeof REPORT_COLUMNS)[number], string | number>;

/** Report statuses: the payment statuses plus the two kinds of row that were never queued. */
export type ReportStatus = PaymentRecord['status'] | 'rejected' | 'skipped_duplicate';

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
}

/**
 * Writes <out>/<batchId>/reconciliation.csv (every manifest row, in file order, with its status)
 * and summary.json. Everything comes from the ledger, a page of rows at a time, so the report always
 * matches the ledger and memory stays flat for large batches.
 */
export async function writeReconciliation(context: StipendContext, batchId: string, outDir: string): Promise<{ dir: string; csv: string; summary: BatchSummary }> {
  const batch = await context.batches.get(batchId);
  const dir = join(outDir, batchId);
  await mkdir(dir, { recursive: true });
  const csvPath = join(dir, 'reconciliation.csv');
  const statuses: BatchSummary['statuses'] = {};
  const stringifier = stringify({ header: true, columns: [...REPORT_COLUMNS], cast: { string: safeCell } });
  const written = pipeline(stringifier, createWriteStream(csvPath));
  for await (const page of context.rows.pages(batchId)) {
    for (const line of await reportLines(context, batch, page)) {
      const tally = (statuses[line.status as ReportStatus] ??= { count: 0, cents: 0 });
      tally.count += 1;
      tally.cents += Number(line.amount_cents || 0);
      if (!stringifier.write(line)) await once(stringifier, 'drain');
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
  };
  await writeFile(join(dir, 'summary.json'), `${JSON.stringify(summary, null, 2)}\n`);
  return { dir, csv: csvPath, summary };
}

/** The batch's counts as kept by the ledger, without reading its rows. */
export function ledgerTotals(batch: BatchRecord): Record<(typeof FINAL_STATUSES)[number], { count: number; cents: number }> {
  return Object.fromEntries(FINAL_STATUSES.map((s) => [s, { count: batch[`n_${s}`], cents: batch[`c_${s}`] }])) as never;
}

async function reportLines(context: StipendContext, batch: BatchRecord, page: BatchRow[]): Promise<ReportLine[]> {
  // A payment row's own record, or for a duplicate the record of the batch that holds the payment.
  const key = (row: BatchRow & { p: string }) => context.keys.payment(batch.provider, batch.account, row.s === 'duplicate' ? row.h : batch.batch_id, row.p);
  const lookups = page.filter((row): row is Exclude<BatchRow, { s: 'rejected' }> => row.s !== 'rejected');
  const pipeline = context.redis.pipeline();
  for (const row of lookups) pipeline.hgetall(key(row));
  const results = (await pipeline.exec()) ?? [];
  const records = new Map(lookups.map((row, i) => [row, parsePaymentRecord((results[i]?.[1] ?? {}) as Record<string, string>)]));

  return page.map((row) => {
    const base = { batch_id: batch.batch_id, line: row.l, provider: batch.provider, account: batch.account };
    if (row.s === 'rejected') {
      return line({ ...base, payment_id: row.p ?? '', payee: row.y ?? '', cents: row.a, status: 'rejected', message: row.m });
    }
    const record = records.get(row);
    if (row.s === 'duplicate') {
      const original = record ? `batch ${record.batch_id} line ${record.line}, status ${record.status}` : `batch ${row.h}`;
      return line({
        ...base, payment_id: row.p, payee: row.y, cents: row.a, status: 'skipped_duplicate',
        reference: record?.reference ?? '', message: `already submitted: ${original}; not paid again`,
      });
    }
    if (!record) {
      return line({ ...base, payment_id: row.p, payee: '', cents: undefined, status: 'unknown', message: 'payment record missing from the ledger' });
    }
    return line({
      ...base, payment_id: row.p, payee: record.payee, cents: record.amount_cents, status: record.status,
      reference: record.reference ?? '', code: record.code ?? '', message: record.message ?? '', attempts: record.attempts,
      submitted: record.submitted_at, settled: record.settled_at ?? '', reversal: record,
    });
  });
}

function line(r: {
  batch_id: string; line: number; provider: string; account: string; payment_id: string; payee: string; cents: number | undefined;
  status: ReportStatus; reference?: string; code?: string; message?: string; attempts?: number; submitted?: string; settled?: string;
  reversal?: PaymentRecord;
}): ReportLine {
  const reversal = r.reversal;
  return {
    batch_id: r.batch_id,
    line: r.line,
    payment_id: r.payment_id,
    provider: r.provider,
    account: r.account,
    payee: r.payee,
    amount_cents: r.cents ?? '',
    amount: r.cents === undefined ? '' : formatDollars(r.cents),
    status: r.status,
    provider_reference: r.reference ?? '',
    provider_code: r.code ?? '',
    message: r.message ?? '',
    attempts: r.attempts ?? 0,
    submitted_at: r.submitted ?? '',
    settled_at: r.settled ?? '',
    reversal_reference: reversal?.reversal_reference ?? '',
    reversal_code: reversal?.reversal_code ?? '',
    reversal_message: reversal?.reversal_message ?? '',
    reversal_reason: reversal?.reversal_reason ?? '',
    reversal_by: reversal?.reversal_by ?? '',
    reversal_at: reversal?.reversal_settled_at ?? reversal?.reversal_requested_at ?? '',
  };
}

function money(count: number, cents: number) {
  return { count, cents, amount: formatDollars(cents) };
}
