import type { StipendContext } from '../context.js';
import type { BatchRow, RejectedRow } from '../ledger/batch-rows.js';
import type { BatchRecord } from '../ledger/batches.js';
import type { PaymentRecord } from '../ledger/payments.js';
import { maskCardNumbers } from '../card-numbers.js';
import { MANIFEST_RECORD_FIELDS, type ManifestValues } from './manifest-columns.js';

/**
 * A batch's manifest rows joined with their payment records, in file order, a page at a time: what
 * the reconciliation report writes and what `stipend status --problems` lists, read the same way.
 */

/**
 * Report statuses: the payment statuses, the two kinds of row that were never queued, and
 * `awaiting_approval`: a queued payment of a batch still waiting for `stipend approve`, which has no
 * job yet (finance should not read it as on its way).
 */
export type ReportStatus = PaymentRecord['status'] | 'rejected' | 'skipped_duplicate' | 'awaiting_approval';

/**
 * The payment record fields a report shows, read with HMGET rather than the whole record (HGETALL):
 * of the rest, nothing is shown. Of the provider fields, only those of the manifest columns are
 * read (manifest-columns.ts). Never a card number: the manifest refuses them, and only these
 * fields leave the ledger.
 */
const SHOWN = [
  'batch_id', 'line', 'payee', 'amount_cents', 'status', 'reference', 'code', 'message', 'attempts', 'submitted_at', 'settled_at',
  'reversal_reference', 'reversal_code', 'reversal_message', 'reversal_reason', 'reversal_by', 'reversal_settled_at', 'reversal_requested_at',
  'conflict_code', 'conflict_reference', ...MANIFEST_RECORD_FIELDS,
] as const;
export type ShownFields = Record<(typeof SHOWN)[number], string | null>;

export interface ReportRow {
  line: number;
  /** Empty for a rejected row without a payment id. */
  paymentId: string;
  payee: string;
  /** Undefined for a rejected row whose amount could not be read. */
  cents: number | undefined;
  status: ReportStatus;
  /** The ledger's fields as the report shows them; for a row this batch never paid, the reference and message that say why. */
  ledger: Partial<ShownFields>;
  /** The manifest values kept in the ledger (for a duplicate, those of the batch holding the payment); undefined when none are. */
  manifest: ManifestValues | undefined;
  /** A rejected row as the ledger keeps it: its problems one by one (rejected-csv.ts reads them). */
  rejected: RejectedRow | undefined;
}

/**
 * The batch's rows, a page at a time, memory flat however large the batch: the next page is read
 * from Redis while the caller works on the current one.
 */
export async function* reportRows(context: StipendContext, batch: BatchRecord): AsyncGenerator<ReportRow[]> {
  const pages = context.rows.pages(batch.batch_id);
  const readNext = async () => {
    const page = await pages.next();
    return page.done ? undefined : joinPage(context, batch, page.value);
  };
  let next = readNext();
  for (let rows = await next; rows !== undefined; rows = await next) {
    next = readNext();
    // If the caller stops (or fails) on this page, the read under way is abandoned: its failure must not go unhandled.
    next.catch(() => {});
    yield rows;
  }
}

/** One page of rows with their records, read in one round trip. */
async function joinPage(context: StipendContext, batch: BatchRecord, page: BatchRow[]): Promise<ReportRow[]> {
  // A payment row's own record, or for a duplicate the record of the batch that holds the payment.
  const refs = page.flatMap((row) => (row.kind === 'rejected' ? [] : [{ batchId: row.kind === 'duplicate' ? row.holderBatchId : batch.batch_id, paymentId: row.paymentId }]));
  const records = await context.payments({ provider: batch.provider, name: batch.account }).readMany(refs, SHOWN);
  let next = 0;
  return page.map((row): ReportRow => {
    if (row.kind === 'rejected') {
      // Never recorded: the manifest's values of a rejected row are in the manifest only. Its
      // problems quote cells masked, but a row recorded by an earlier version may hold a card number.
      const ledger = { message: maskCardNumbers(row.message) };
      return { line: row.line, paymentId: row.paymentId ?? '', payee: row.payee ?? '', cents: row.amountCents, status: 'rejected', ledger, manifest: undefined, rejected: row };
    }
    const read = records[next++];
    // No status: the payment has no record.
    const record = read?.status == null ? undefined : read;
    if (row.kind === 'duplicate') {
      const original = record ? `batch ${record.batch_id} line ${record.line}, status ${record.status}` : `batch ${row.holderBatchId}`;
      // The ledger keeps one record per payment: its manifest values are those of the batch holding it.
      const ledger = { reference: record?.reference ?? '', message: `already submitted: ${original}; not paid again` };
      return { line: row.line, paymentId: row.paymentId, payee: row.payee, cents: row.amountCents, status: 'skipped_duplicate', ledger, manifest: record, rejected: undefined };
    }
    if (!record) {
      return { line: row.line, paymentId: row.paymentId, payee: '', cents: undefined, status: 'unknown', ledger: { message: 'payment record missing from the ledger' }, manifest: undefined, rejected: undefined };
    }
    return { line: row.line, paymentId: row.paymentId, payee: record.payee ?? '', cents: Number(record.amount_cents), status: reportStatus(batch, record.status), ledger: record, manifest: record, rejected: undefined };
  });
}

/** A queued payment of a batch awaiting approval has no job: nothing is on its way until it is approved. */
function reportStatus(batch: BatchRecord, status: string | null): ReportStatus {
  return status === 'queued' && batch.state === 'awaiting_approval' ? 'awaiting_approval' : (status as ReportStatus);
}

/** `LATE_PAID_AFTER_NOT_PAID (reference T-123)`, or empty when the payment has no conflict. */
export function conflictOf(ledger: Partial<ShownFields>): string {
  if (!ledger.conflict_code) return '';
  return ledger.conflict_reference ? `${ledger.conflict_code} (reference ${ledger.conflict_reference})` : ledger.conflict_code;
}
