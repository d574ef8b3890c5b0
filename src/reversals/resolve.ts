import { refuseIfArchived } from '../ledger/archive-errors.js';
import type { Actor } from '../audit/actor.js';
import { accountOf } from '../batches/account-of.js';
import { checkNote } from '../batches/settle.js';
import type { StipendContext } from '../context.js';
import { UsageError } from '../errors.js';
import type { PaymentRecord, PaymentRef } from '../ledger/payments.js';
import { ReversalLedger } from '../ledger/reversals.js';

/**
 * A person settles a `reversal_unknown` after checking with the provider: the money came back
 * (with the provider's reference for the reversal), or it did not (the payment is `paid` again and
 * may be reversed again). `by` and `note` as for a payment's verdict (batches/settle.ts resolvePayment).
 */
export async function resolveReversal(
  context: StipendContext,
  ref: PaymentRef,
  verdict: { reversed: string } | { notReversed: true },
  by: Actor,
  note?: string,
): Promise<PaymentRecord> {
  const checkedNote = checkNote(note);
  const batch = await context.batches.get(ref.batchId);
  refuseIfArchived(batch);
  const account = accountOf(context, batch);
  const payments = context.payments(account);
  if (!(await payments.get(ref))) throw new UsageError(`batch ${ref.batchId} has no payment ${ref.paymentId}`);
  const prevented = await new ReversalLedger(context.redis, context.keys, account.provider, account.name).resolve(ref, verdict, by, checkedNote);
  if (prevented !== undefined) throw new UsageError(`the reversal of payment ${ref.paymentId} cannot be resolved: it is ${prevented}, not reversal_unknown`);
  return (await payments.get(ref))!;
}
