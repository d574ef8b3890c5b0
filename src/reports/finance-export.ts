import { createWriteStream } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { stringify } from 'csv-stringify';
import { stringify as stringifySync } from 'csv-stringify/sync';
import { z } from 'zod';
import type { StipendContext } from '../context.js';
import { formatDollars } from '../money.js';
import { getAdapter } from '../providers/index.js';
import { periodOfDays } from '../audit/audit-trail.js';
import { writeAuditCsv } from './audit-csv.js';
import { calendarDay } from './calendar-day.js';
import { ledgerEntries } from './ledger-entries.js';
import { ledgerPayments } from './ledger-payments.js';
import { safeCell } from './safe-cell.js';
import { writeWholeFiles } from './whole-files.js';

export const GROUPINGS = ['provider', 'account', 'groupId', 'batch'] as const;

/** The code cancelBatch (batches/cancel.ts) gives the payments of a batch canceled before it was sent. */
const CANCELED = 'CANCELED';

export const exportOptions = z.object({
  from: calendarDay,
  to: calendarDay,
  groupBy: z.enum(GROUPINGS).default('provider'),
  out: z.string().min(1),
  /** Also the period's audit trail (who decided what), in `<out without .csv>.audit.csv`. */
  withAudit: z.boolean().default(false),
});
export type ExportOptions = z.input<typeof exportOptions>;

const ROW_COLUMNS = ['settled_at', 'batch_id', 'line', 'payment_id', 'provider', 'account', 'group_id', 'payee', 'amount_cents', 'amount', 'status', 'provider_reference', 'resolved_by'] as const;
const TOTAL_COLUMNS = ['group_by', 'group', 'status', 'payments', 'amount_cents', 'amount'] as const;

export interface ExportTotal {
  group: string;
  status: string;
  payments: number;
  cents: number;
}

/**
 * A finance export from the ledger: every payment settled between two dates (UTC, both days
 * included) across batches, row by row in `out`, and the totals per group and status in
 * `<out without .csv>.totals.csv`. Rows are streamed, so memory stays flat over many batches, and
 * both files appear together once complete (whole-files.ts). A reversed payment stays `paid` in
 * the period it was paid and adds a negative `reversed` row in the period it was reversed
 * (reports/ledger-entries.ts): a closed period's figures never change. With `withAudit`, the audit
 * entries appended in the period (by Redis's clock) go in `<out without .csv>.audit.csv`, appearing
 * with the other two.
 */
export async function writeFinanceExport(
  context: StipendContext,
  input: ExportOptions,
): Promise<{ rowsFile: string; totalsFile: string; totals: ExportTotal[]; audit?: { file: string; entries: number } }> {
  const options = exportOptions.parse(input);
  const base = options.out.replace(/\.csv$/i, '');
  const totalsFile = `${base}.totals.csv`;
  const auditFile = options.withAudit ? `${base}.audit.csv` : undefined;
  return writeWholeFiles([options.out, totalsFile, ...(auditFile === undefined ? [] : [auditFile])], async ([rowsTemp, totalsTemp, auditTemp]) => {
    const totals = new Map<string, ExportTotal>();
    const rows = stringify({ header: true, columns: [...ROW_COLUMNS], cast: { string: safeCell } });
    // The pipeline ends the ledger read when the file fails, and the file when the ledger read fails.
    await pipeline(exportLines(context, options, totals), rows, createWriteStream(rowsTemp!));
    const sorted = [...totals.values()].sort((a, b) => a.group.localeCompare(b.group) || a.status.localeCompare(b.status));
    const totalRows = sorted.map((t) => ({ group_by: options.groupBy, group: t.group, status: t.status, payments: t.payments, amount_cents: t.cents, amount: formatDollars(t.cents) }));
    await writeFile(totalsTemp!, stringifySync(totalRows, { header: true, columns: [...TOTAL_COLUMNS], cast: { string: safeCell } }));
    if (auditFile === undefined) return { rowsFile: options.out, totalsFile, totals: sorted };
    const entries = await writeAuditCsv(context, auditTemp!, periodOfDays(options.from, options.to));
    return { rowsFile: options.out, totalsFile, totals: sorted, audit: { file: auditFile, entries } };
  });
}

/** The period's rows, adding each to its total in `totals` as it goes. */
async function* exportLines(context: StipendContext, options: z.output<typeof exportOptions>, totals: Map<string, ExportTotal>): AsyncGenerator<Record<string, unknown>> {
  const fromMs = Date.parse(`${options.from}T00:00:00Z`);
  const untilMs = Date.parse(`${options.to}T00:00:00Z`) + 86_400_000;
  // A payment settles after its batch is created, so batches created after the period cannot hold one.
  for await (const { batch, record } of ledgerPayments(context, untilMs)) {
    // A canceled batch's payments were never sent: like skipped duplicates, they are not payments.
    if (record.status === 'failed' && record.code === CANCELED) continue;
    // A payment, and its reversal as a negative entry of its own, each in the period it happened.
    for (const entry of ledgerEntries(record)) {
      if (!inPeriod(entry.at, fromMs, untilMs)) continue;
      const groupId = getAdapter(batch.provider).manifest.group?.(record.fields) ?? '';
      const group = { provider: record.provider, account: `${record.provider}/${record.account}`, groupId, batch: batch.batch_id }[options.groupBy];
      const key = `${group}\u0000${entry.status}`;
      const total = totals.get(key) ?? { group, status: entry.status, payments: 0, cents: 0 };
      total.payments += 1;
      total.cents += entry.cents;
      totals.set(key, total);
      yield {
        settled_at: entry.at, batch_id: batch.batch_id, line: record.line, payment_id: record.payment_id, provider: record.provider,
        account: record.account, group_id: groupId, payee: record.payee, amount_cents: entry.cents, amount: formatDollars(entry.cents),
        status: entry.status, provider_reference: entry.reference, resolved_by: entry.resolvedBy,
      };
    }
  }
}

function inPeriod(at: string, fromMs: number, untilMs: number): boolean {
  const settled = Date.parse(at);
  return settled >= fromMs && settled < untilMs;
}
