import type { Actor } from '../audit/actor.js';
import { findAccount } from '../config/load.js';
import type { StipendContext } from '../context.js';
import { UsageError } from '../errors.js';
import type { BatchRecord } from '../ledger/batches.js';
import { settleUnrecordedClaim } from '../ledger/claims.js';
import { openAccountQueue } from './account-queue.js';
import { holdFile } from './enqueue-lock.js';
import { paymentJobId } from './payment-job.js';

/**
 * Gives up an enqueue that was cut short and will not be resumed (`stipend cancel` of an enqueuing
 * batch), so that the payments it claimed do not stay held by a batch that never finishes. Only
 * while no enqueue runs on the file: its hold is taken for the whole time, so none starts meanwhile.
 *
 * - rows already recorded stay, with their jobs, and settle as usual;
 * - a payment claimed but not recorded whose job exists (its chunk's jobs were added) may be paid
 *   any moment: it is adopted as a row of the batch, and settles as usual;
 * - one without a job is released (holder and record removed): a later manifest may pay it.
 *
 * The batch then leaves `enqueuing` (enqueued, or canceled when its payments awaited approval, the
 * submitter's rule or a worker's: the approval fence sent none of them, and cancelBatch settles the
 * recorded ones as not sent). An abandonment cut short is finished by running it again: each claim
 * is settled once, the batch moved last.
 */
export async function abandonEnqueue(context: StipendContext, batch: BatchRecord, by: Actor): Promise<BatchRecord> {
  const { batch_id: batchId, provider, account: name } = batch;
  const hold = await holdFile(context, provider, batch.sha256, async () => `batch ${batchId} is being queued right now; nothing was canceled (cancel it once that has stopped, or let it finish)`);
  const account = findAccount(context.config, provider, name);
  const queue = openAccountQueue(context.redis, context.config.prefix, account);
  try {
    const current = await context.batches.get(batchId);
    if (current.state !== 'enqueuing') throw new UsageError(`batch ${batchId} is ${current.state.replace('_', ' ')} now, no longer enqueuing; nothing was canceled`);
    const ledger = context.payments(account);
    const paymentIds = await context.redis.smembers(context.keys.batchClaims(provider, name, batchId));
    const claims = [];
    for (const paymentId of paymentIds) {
      const record = await ledger.get({ batchId, paymentId });
      // A row through enqueued_line is recorded already (listed again only by an enqueue that had
      // lost its hold): nothing to settle.
      if (record && record.line > current.enqueued_line) claims.push({ paymentId, line: record.line, amountCents: record.amount_cents });
    }
    // Adopted rows follow the recorded ones in file order.
    claims.sort((a, b) => a.line - b.line);
    for (const claim of claims) {
      const jobExists = (await queue.getJob(paymentJobId(batchId, claim.paymentId))) !== undefined;
      await settleUnrecordedClaim(context.redis, context.keys, { provider, account: name }, { batchId, ...claim, jobExists });
    }
    await context.batches.abandon(batchId, current.needs_approval ? 'canceled' : 'enqueued', by);
    return await context.batches.get(batchId);
  } finally {
    await queue.close();
    await hold.release();
  }
}
