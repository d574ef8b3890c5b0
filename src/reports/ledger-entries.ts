import { FINAL_STATUSES, type FinalStatus, type PaymentRecord, REVERSAL_STATUSES } from '../ledger/payments.js';

/**
 * What one payment record means for the books, each entry dated when it happened, so a period's
 * figures never change after the period (a reversal in December does not rewrite November):
 *
 * - the payment's outcome when it settled; a payment reversed since was paid then: `paid`;
 * - once a reversal settled, a second, negative entry at that time: `reversed`, or
 *   `reversal_unknown` while no one knows whether the money came back.
 *
 * A reversal under way (`reversing`) or refused has no entry: the money is still with the payee.
 */
export interface LedgerEntry {
  at: string;
  status: FinalStatus;
  /** Signed: money given back is negative, so a period's entries add up to what it cost. */
  cents: number;
  reference: string;
  resolvedBy: string;
}

export function ledgerEntries(record: PaymentRecord): LedgerEntry[] {
  if (!isFinal(record.status) || record.settled_at === undefined) return [];
  const reversal = (REVERSAL_STATUSES as readonly string[]).includes(record.status);
  const payment: LedgerEntry = {
    at: record.settled_at,
    status: reversal ? 'paid' : record.status,
    cents: record.amount_cents,
    reference: record.reference ?? '',
    resolvedBy: record.resolved_by ?? '',
  };
  if ((record.status !== 'reversed' && record.status !== 'reversal_unknown') || record.reversal_settled_at === undefined) return [payment];
  return [
    payment,
    {
      at: record.reversal_settled_at,
      status: record.status,
      cents: -record.amount_cents,
      reference: record.reversal_reference ?? '',
      resolvedBy: record.reversal_resolved_by ?? '',
    },
  ];
}

function isFinal(status: string): status is FinalStatus {
  return (FINAL_STATUSES as readonly string[]).includes(status);
}
