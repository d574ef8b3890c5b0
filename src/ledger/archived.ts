/**
 * What the ledger reads of a batch moved out of Redis into files (archive/, which implements it):
 * the batch record, its stored rows and its payment records, as Redis held them. Every read of the
 * ledger turns to it only where Redis has nothing, so a live batch costs nothing more.
 */
export interface LedgerArchive {
  /** The archived batches' records (hash fields, with `archived_at`), in order; undefined for one not archived. */
  records(batchIds: readonly string[]): Promise<(Record<string, string> | undefined)[]>;
  /** An archived batch's stored rows (ledger/batch-rows.ts) and payment records by payment id; undefined when it is not archived. */
  contents(batchId: string): Promise<{ rows: string[]; payments: Map<string, Record<string, string>> } | undefined>;
}
