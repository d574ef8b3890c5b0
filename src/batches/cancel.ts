import { type Actor, describeActor, personHere } from '../audit/actor.js';
import type { StipendContext } from '../context.js';
import { UsageError } from '../errors.js';
import type { BatchRecord } from '../ledger/batches.js';
import { abandonEnqueue } from '../queue/abandon-enqueue.js';
import { accountOf } from './account-of.js';

/**
 * Drops a batch that has not started (awaiting approval): every payment not sent ends failed
 * (CANCELED). The decision is recorded first, so no approval can queue a payment of it afterwards,
 * and no payment of it is marked sending from then on (the approval fence, redis/lua/includes/approvalFence.lua).
 * A payment a worker had sent before a worker's own rule held the batch settles as its call answers;
 * one a run turns back after this went past it is settled by the sweeper the same way. Canceling a
 * canceled batch again settles what an interrupted cancellation left. An enqueue cut short
 * (enqueuing, no enqueue running) is abandoned instead: what it queued is paid as usual, what it
 * claimed without queuing is released (queue/abandon-enqueue.ts). Anyone may cancel, the submitter
 * too: nothing is paid.
 */
export async function cancelBatch(context: StipendContext, batchId: string, by: Actor = personHere()): Promise<BatchRecord> {
  let batch = await context.batches.get(batchId);
  if (batch.state === 'enqueuing') {
    batch = await abandonEnqueue(context, batch, by);
    if (batch.state !== 'canceled') return batch;
  } else if (batch.state !== 'canceled' && !(await context.batches.decide(batchId, 'canceled', by))) {
    throw new UsageError(`batch ${batchId} is ${(await context.batches.get(batchId)).state.replace('_', ' ')}; only a batch awaiting approval, or an interrupted enqueue, can be canceled`);
  }
  batch = await context.batches.get(batchId);
  const canceledBy = describeActor(batch.canceled_by ?? by.identity, batch.canceled_by_name);
  const ledger = context.payments(accountOf(context, batch));
  for await (const page of context.rows.pages(batchId)) {
    for (const row of page) {
      if (row.kind !== 'payment') continue;
      // Only queued payments: a payment sending has a call under way, which its run settles.
      const ref = { batchId, paymentId: row.paymentId };
      if ((await ledger.get(ref))?.status !== 'queued') continue;
      await ledger.cancel(ref, canceledBy);
    }
  }
  return context.batches.get(batchId);
}
