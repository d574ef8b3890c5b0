import type { Account } from '../src/config/load.js';
import type { StipendContext } from '../src/context.js';
import { newBatchId } from '../src/ledger/batches.js';
import { manifestRows } from '../src/manifest/index.js';
import { ctpayer } from '../src/providers/ctpayer.js';
import { enqueueRows } from '../src/queue/enqueue.js';

/**
 * A batch as the workers leave it once every payment is final, recorded through the ledger without
 * paying anything: the manifest's rows claimed and recorded (no jobs; claimed against `otherAccounts`
 * of the provider), then each payment settled, mostly paid with a provider reference, some declined,
 * a few unknown.
 */
export async function settledBatch(context: StipendContext, account: Account, file: { path: string; rows: number }, otherAccounts: string[] = []): Promise<string> {
  const batchId = newBatchId();
  await context.batches.create({ batchId, provider: account.provider, account: account.name, source: 'bench.csv', sha256: batchId, rowsTotal: file.rows });
  await enqueueRows(context, account, batchId, manifestRows(file.path, ctpayer as never), { addJobs: false, otherAccounts });
  await context.batches.markEnqueued(batchId);
  const ledger = context.payments(account);
  let n = 0;
  for await (const page of context.rows.pages(batchId)) {
    await Promise.all(page.map((row) => {
      n += 1;
      const ref = { batchId, paymentId: row.paymentId! };
      if (n % 200 === 0) return ledger.finalize(ref, { status: 'unknown', code: 'NO_RESPONSE', message: 'the connection closed before an answer came back' });
      if (n % 50 === 0) return ledger.finalize(ref, { status: 'declined', code: 'CARD_INACTIVE', message: 'the card is not active' });
      return ledger.finalize(ref, { status: 'paid', reference: `T${String(n).padStart(9, '0')}`, code: 'SUCCESS', message: 'Card loaded' });
    }));
  }
  return batchId;
}
