/**
 * Every Redis key the ledger writes. The ledger is the durable record of each batch and payment;
 * it is kept apart from BullMQ's job data, whose retention is BullMQ's business.
 */
export class LedgerKeys {
  constructor(readonly prefix: string) {}

  /** All batches, scored by creation time. */
  batches(): string {
    return `${this.prefix}:batches`;
  }

  /** HASH: the batch's provenance and its running counts (see ledger/batches.ts). */
  batch(batchId: string): string {
    return `${this.prefix}:batch:${batchId}`;
  }

  /** LIST: one JSON entry per manifest row, in file order (see ledger/batch-rows.ts). */
  batchRows(batchId: string): string {
    return `${this.prefix}:batch:${batchId}:rows`;
  }

  /** HASH: one payment, identified by its account and payment id (see ledger/payments.ts). */
  payment(provider: string, account: string, paymentId: string): string {
    return `${this.prefix}:pay:${provider}:${account}:${paymentId}`;
  }
}
