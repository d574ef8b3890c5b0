import { when } from './when.js';
import type { StipendContext } from '../context.js';
import { UsageError } from '../errors.js';
import type { BatchRecord } from '../ledger/batches.js';
import { paymentStatus } from '../ledger/payment-status.js';
import { quoted } from '../quote.js';
import { count, usd } from '../readable-numbers.js';
import { type ReportRow, type ReportStatus, conflictOf, reportRows } from '../reports/report-rows.js';
import { type Html, html } from './html.js';

/**
 * The batch page's rows: read with the reconciliation report's own join (reports/report-rows.ts), so
 * the page and the report never disagree and no card number reaches the page, filtered by status and
 * a page at a time.
 */

export const ROWS_PER_PAGE = 200;

/** Every status a row of the report can have: what "Show rows" offers besides all. */
export const ROW_STATUSES: readonly ReportStatus[] = [...paymentStatus.options, 'awaiting_approval', 'rejected', 'skipped_duplicate'];
export type RowFilter = ReportStatus | 'all';

export function rowFilter(value: unknown): RowFilter {
  if (value === undefined || value === '' || value === 'all') return 'all';
  if (typeof value === 'string' && (ROW_STATUSES as readonly string[]).includes(value)) return value as ReportStatus;
  throw new UsageError(`${quoted(String(value))} is not a row status: show all rows or one of ${ROW_STATUSES.join(', ')}`);
}

/** `?page=`: 1 unless given, a whole number from 1. */
export function pageNumber(value: unknown): number {
  if (value === undefined || value === '') return 1;
  if (typeof value !== 'string' || !/^[1-9]\d{0,8}$/.test(value)) throw new UsageError(`${quoted(String(value))} is not a page number: pages are numbered from 1`);
  return Number(value);
}

/**
 * The rows of page `page` among those with `status`, in file order, and whether more follow. Reads
 * no further than that page (and one row past it), a page of the ledger at a time.
 */
export async function rowsPage(context: StipendContext, batch: BatchRecord, status: RowFilter, page: number): Promise<{ rows: ReportRow[]; more: boolean }> {
  let skip = (page - 1) * ROWS_PER_PAGE;
  const rows: ReportRow[] = [];
  for await (const chunk of reportRows(context, batch)) {
    for (const row of chunk) {
      if (status !== 'all' && row.status !== status) continue;
      if (skip > 0) {
        skip -= 1;
        continue;
      }
      if (rows.length === ROWS_PER_PAGE) return { rows, more: true };
      rows.push(row);
    }
  }
  return { rows, more: false };
}

/** A status as people read it: `reversal unknown`, with its colour class. */
export function statusLabel(status: string): Html {
  return html`<span class="status-${status}">${status.replaceAll('_', ' ')}</span>`;
}

/**
 * The rows as a table. `reverseLink`: the link that starts a paid row's reversal, for a person who
 * may decide (undefined for anyone else).
 */
export function rowsTable(batch: BatchRecord, rows: readonly ReportRow[], reverseLink: ((row: ReportRow) => string) | undefined): Html {
  return html`<div class="table-wrap"><table>
<thead><tr><th scope="col" class="num">Line</th><th scope="col">Payment id</th><th scope="col">Payee</th><th scope="col" class="num">Amount</th><th scope="col">Status</th><th scope="col">Provider reference</th><th scope="col" class="num">Attempts</th><th scope="col">Settled</th><th scope="col">Message</th>${reverseLink ? html`<th scope="col"><span class="visually-hidden">Action</span></th>` : ''}</tr></thead>
<tbody>
${rows.map((row) => {
  const { ledger } = row;
  const conflict = conflictOf(ledger);
  return html`<tr>
<td class="num">${count(row.line)}</td>
<td>${row.paymentId}</td>
<td>${row.payee}${ledger.participant_id ? html`<br><span class="muted">participant ${ledger.participant_id}</span>` : ''}</td>
<td class="num">${row.cents === undefined ? '' : usd(row.cents)}</td>
<td>${statusLabel(row.status)}</td>
<td>${ledger.reference ?? ''}</td>
<td class="num">${ledger.attempts ?? ''}</td>
<td>${ledger.settled_at ? when(ledger.settled_at) : ''}</td>
<td>${ledger.message ?? ''}${conflict ? html`<br><strong>conflicting paid answer: ${conflict}</strong>` : ''}</td>
${reverseLink ? html`<td>${row.status === 'paid' ? html`<a href="${reverseLink(row)}">Reverse</a>` : ''}</td>` : ''}
</tr>`;
})}
</tbody></table></div>
${rows.length === 0 ? html`<p>No rows ${batch.rows_total === 0 ? 'in this batch' : 'with this status'}.</p>` : ''}`;
}
