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

  /** SET: batches not yet known to be settled, which the sweeper looks after (jobs/sweeper.ts). */
  openBatches(): string {
    return `${this.prefix}:batches:open`;
  }

  /** STREAM: every decision, appended and never trimmed (see audit/audit-entry.ts). */
  audit(): string {
    return `${this.prefix}:audit`;
  }

  /** HASH: the batch's provenance and its running counts (see ledger/batches.ts). */
  batch(batchId: string): string {
    return `${this.prefix}:batch:${batchId}`;
  }

  /** STRING: the latest batch made from a file (by its SHA-256) for an account, to resume its enqueue. */
  batchOfFile(provider: string, account: string, sha256: string): string {
    return `${this.prefix}:batch-of-file:${provider}:${account}:${sha256}`;
  }

  /**
   * STRING: the owner token of the one enqueue (or abandonment) at work on a file (by its SHA-256)
   * for any account of the provider; it expires unless renewed (queue/enqueue-lock.ts).
   */
  enqueueLock(provider: string, sha256: string): string {
    return `${this.prefix}:enqueue-lock:${provider}:${sha256}`;
  }

  /** LIST: one JSON entry per manifest row, in file order (see ledger/batch-rows.ts). */
  batchRows(batchId: string): string {
    return `${this.prefix}:batch:${batchId}:rows`;
  }

  /**
   * SET: the payment ids an enqueuing batch has claimed but not yet recorded as rows. What an
   * abandoned enqueue releases (queue/abandon-enqueue.ts); emptied as chunks are recorded.
   */
  batchClaims(batchId: string): string {
    return `${this.prefix}:batch:${batchId}:claims`;
  }

  /** HASH: one payment of one batch (see ledger/payments.ts). */
  payment(provider: string, account: string, batchId: string, paymentId: string): string {
    return `${this.paymentPrefix(provider, account)}${batchId}:${paymentId}`;
  }

  /** What payment(…) keys start with; the ledger's scripts complete it with a batch and payment id. */
  paymentPrefix(provider: string, account: string): string {
    return `${this.prefix}:pay:${provider}:${account}:`;
  }

  /**
   * STRING: the batch that holds a payment identity (account + payment id), so no other batch pays
   * it again. The only ledger key that may expire: how long duplicates are remembered.
   */
  holder(provider: string, account: string, paymentId: string): string {
    return `${this.prefix}:holder:${provider}:${account}:${paymentId}`;
  }
}
