import { refuseIfArchived } from '../ledger/archive-errors.js';
import { type Actor, personHere } from '../audit/actor.js';
import type { Account } from '../config/load.js';
import type { StipendContext } from '../context.js';
import { UsageError } from '../errors.js';
import type { PaymentRecord, PaymentRef } from '../ledger/payments.js';
import { openAccountQueue } from '../queue/account-queue.js';
import { otherAccountsOf } from '../queue/other-accounts.js';
import { requeuePayments } from '../queue/requeue-payments.js';
import { text, withoutCardNumbers } from '../providers/field-rules.js';
import { accountOf } from './account-of.js';

/**
 * A person settles an `unknown` payment after checking with the provider: paid (with its
 * reference), or not paid (it becomes `failed`, which `retryFailed` may send again). `by`: who
 * decides (at the command line personHere, in the console the signed-in person); `note`: what they
 * found, kept in the audit trail and the payment's message.
 */
export async function resolvePayment(
  context: StipendContext,
  ref: PaymentRef,
  verdict: { paid: string } | { notPaid: true },
  by: Actor,
  note?: string,
): Promise<PaymentRecord> {
  const checkedNote = checkNote(note);
  const batch = await context.batches.get(ref.batchId);
  refuseIfArchived(batch);
  const ledger = context.payments(accountOf(context, batch));
  if (!(await ledger.get(ref))) throw new UsageError(`batch ${ref.batchId} has no payment ${ref.paymentId}`);
  const refused = await ledger.resolve(ref, verdict, by, checkedNote);
  if (refused) throw new UsageError(`payment ${ref.paymentId} cannot be resolved: ${refused}`);
  return (await ledger.get(ref))!;
}

// A note is recorded in the audit trail and shown in reports: one printable line, never a card number.
const noteRule = withoutCardNumbers(text({ max: 200 }));

/** A verdict's note as it is recorded (none when empty), or UsageError saying what is wrong with it. */
export function checkNote(note: string | undefined): string | undefined {
  const trimmed = note?.trim();
  if (trimmed === undefined || trimmed === '') return undefined;
  const checked = noteRule.safeParse(trimmed);
  if (!checked.success) throw new UsageError(`the note ${checked.error.issues[0]!.message}; nothing was recorded`);
  return checked.data;
}

/**
 * Sends a batch's `failed` payments (nothing was applied) round again; never `unknown` ones. A
 * payment that a later batch now holds stays as it is. A payment already `queued` (a retry or an
 * approval cut short after the ledger's step, before its job was added) gets its job under its
 * round's id: BullMQ adds a job id once, so one that exists is left as it is, never doubled.
 */
export async function retryFailed(
  context: StipendContext,
  batchId: string,
  by: Actor = personHere(),
): Promise<{ account: Account; retried: number; alreadyQueued: number; refused: string[] }> {
  const batch = await context.batches.get(batchId);
  refuseIfArchived(batch);
  if (batch.state === 'canceled' || batch.state === 'awaiting_approval') throw new UsageError(`batch ${batchId} is ${batch.state.replace('_', ' ')}; there is nothing to retry`);
  const account = accountOf(context, batch);
  const ledger = context.payments(account);
  const queue = openAccountQueue(context.redis, context.config.prefix, account);
  let retried = 0;
  let alreadyQueued = 0;
  const refused: string[] = [];
  try {
    await requeuePayments(context, queue, account, batchId, async ({ ref, record }) => {
      if (record.status === 'queued') {
        alreadyQueued += 1;
        return record.round;
      }
      if (record.status !== 'failed') return undefined;
      const outcome = await ledger.retry(ref, by, otherAccountsOf(context, account));
      if ('refused' in outcome) {
        refused.push(`${ref.paymentId}: ${outcome.refused}`);
        return undefined;
      }
      retried += 1;
      return outcome.round;
    });
  } finally {
    await queue.close();
  }
  return { account, retried, alreadyQueued, refused };
}

