import type { BatchLedger, BatchRecord } from '../ledger/batches.js';
import { FINAL_STATUSES } from '../ledger/payments.js';

/** A final status, or `pending`: accepted and not final yet (queued, in flight, or held for approval). */
export type TotalsStatus = (typeof FINAL_STATUSES)[number] | 'pending';

export interface PaymentTotals {
  provider: string;
  account: string;
  status: TotalsStatus;
  count: number;
  cents: number;
}

/** Payments of an account with a conflicting paid answer (a late paid after not-paid, a second paid). */
export interface ConflictTotals {
  provider: string;
  account: string;
  count: number;
}

// Batch records read per pipelined round trip.
const CHUNK = 500;

/**
 * Payments by provider, account and status, and conflicts by provider and account, from the counts
 * every batch record keeps (the ledger's scripts maintain them atomically): one small hash per
 * batch, never one read per payment. The totals are recomputed on each read, so a payment a person
 * resolves later moves between statuses. Every account with a batch has a conflicts entry, zero
 * included, so that an alert on it sees a series before the first conflict.
 */
export async function readPaymentTotals(batches: BatchLedger): Promise<{ statuses: PaymentTotals[]; conflicts: ConflictTotals[] }> {
  const totals = new Map<string, PaymentTotals>();
  const conflicts = new Map<string, ConflictTotals>();
  const add = (batch: BatchRecord, status: TotalsStatus, count: number, cents: number) => {
    const id = JSON.stringify([batch.provider, batch.account, status]);
    const entry = totals.get(id) ?? { provider: batch.provider, account: batch.account, status, count: 0, cents: 0 };
    entry.count += count;
    entry.cents += cents;
    totals.set(id, entry);
  };
  const batchIds = await batches.batchIds();
  for (let start = 0; start < batchIds.length; start += CHUNK) {
    for (const batch of await batches.getMany(batchIds.slice(start, start + CHUNK))) {
      // A batch being written this very moment may lack fields yet; the next scrape counts it.
      if (!batch) continue;
      let finalCents = 0;
      for (const status of FINAL_STATUSES) {
        add(batch, status, batch[`n_${status}`], batch[`c_${status}`]);
        finalCents += batch[`c_${status}`];
      }
      add(batch, 'pending', batch.accepted - batch.final, batch.accepted_cents - finalCents);
      const id = JSON.stringify([batch.provider, batch.account]);
      const conflict = conflicts.get(id) ?? { provider: batch.provider, account: batch.account, count: 0 };
      conflict.count += batch.n_conflict;
      conflicts.set(id, conflict);
    }
  }
  return { statuses: [...totals.values()], conflicts: [...conflicts.values()] };
}
