import { serviceHere } from '../audit/actor.js';
import type { Account } from '../config/load.js';
import type { StipendContext } from '../context.js';
import type { ApprovalFence } from '../ledger/payments.js';
import { approvalReason } from './approval-rule.js';

/** Batches whose recorded total a worker keeps at hand; past this the oldest is read again when needed. */
const TOTALS_KEPT = 1000;

/**
 * A worker's own approval rule for the batch of a payment it is about to send, whatever rule the
 * submitter applied: the ApprovalFence its sending mark carries, or undefined where the rule needs
 * no approval. Applied to the total recorded on the batch at submission, which never changes, so it
 * is read once per batch; a batch recorded before totals were (an older version) is judged by the
 * total of its rows recorded so far. An account without a rule reads nothing.
 */
export function workerApprovalFence(context: StipendContext, account: Account): (batchId: string) => Promise<ApprovalFence | undefined> {
  if (account.approval === undefined) return async () => undefined;
  const worker = serviceHere('worker');
  const totals = new Map<string, number>();
  return async (batchId) => {
    let total = totals.get(batchId);
    if (total === undefined) {
      const batch = await context.batches.get(batchId);
      total = batch.total_cents ?? batch.accepted_cents;
      if (batch.total_cents !== undefined) {
        if (totals.size >= TOTALS_KEPT) totals.delete(totals.keys().next().value!);
        totals.set(batchId, total);
      }
    }
    const reason = approvalReason(account, total);
    return reason === undefined ? undefined : { reason, worker };
  };
}
