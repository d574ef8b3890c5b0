import type { StipendContext } from '../context.js';
import type { BatchRecord } from '../ledger/batches.js';
import { parsePaymentRecord, type PaymentRecord } from '../ledger/payments.js';

/**
 * Every payment record of the batches created up to `createdUntilMs`, batch by batch and a page of
 * rows at a time, each page read in one round trip: exports stream the ledger with flat memory.
 * Rows a batch skipped as duplicates are left out; their payment belongs to another batch.
 */
export async function* ledgerPayments(context: StipendContext, createdUntilMs: number): AsyncGenerator<{ batch: BatchRecord; record: PaymentRecord }> {
  for (const batchId of await context.redis.zrangebyscore(context.keys.batches(), '-inf', createdUntilMs)) {
    const batch = await context.batches.get(batchId);
    for await (const page of context.rows.pages(batchId)) {
      const read = context.redis.pipeline();
      for (const row of page) if (row.s === 'payment') read.hgetall(context.keys.payment(batch.provider, batch.account, batchId, row.p));
      for (const [, hash] of (await read.exec()) ?? []) {
        const record = parsePaymentRecord(hash as Record<string, string>);
        if (record) yield { batch, record };
      }
    }
  }
}
