import type { StipendContext } from '../context.js';
import type { BatchRecord } from '../ledger/batches.js';
import type { PaymentRecord } from '../ledger/payments.js';

/**
 * Every payment record of the batches created up to `createdUntilMs`, batch by batch and a page of
 * rows at a time, each page read in one round trip: exports stream the ledger with flat memory.
 * Rows a batch skipped as duplicates are left out; their payment belongs to another batch.
 */
export async function* ledgerPayments(context: StipendContext, createdUntilMs: number): AsyncGenerator<{ batch: BatchRecord; record: PaymentRecord }> {
  for (const batchId of await context.batches.batchIds(createdUntilMs)) {
    const batch = await context.batches.get(batchId);
    const ledger = context.payments({ provider: batch.provider, name: batch.account });
    for await (const page of context.rows.pages(batchId)) {
      const refs = page.flatMap((row) => (row.kind === 'payment' ? [{ batchId, paymentId: row.paymentId }] : []));
      for (const record of await ledger.getMany(refs)) {
        if (record) yield { batch, record };
      }
    }
  }
}
