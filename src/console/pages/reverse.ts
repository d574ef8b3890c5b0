import express, { type Router } from 'express';
import { z } from 'zod';
import { accountOf } from '../../batches/account-of.js';
import type { StipendContext } from '../../context.js';
import { ReversalRefusedError, UsageError } from '../../errors.js';
import type { PaymentRecord, PaymentRef } from '../../ledger/payments.js';
import { usd } from '../../readable-numbers.js';
import { reasonProblem, type ReversalResult, reversalOf, reversePayments, whyNotReversible } from '../../reversals/reverse.js';
import type { ConsoleDeps } from '../deps.js';
import { allowed, csrfChecked, type SignedIn, signedIn } from '../guard.js';
import { type Html, html } from '../html.js';
import { csrfField, notice, page } from '../layout.js';
import { decisionForm, queryValue, rewriteAfterDecision } from './decisions.js';

/**
 * Reverse: an approver gives one paid payment back through its provider (reversePayments, as
 * `stipend reverse --payment-id`), with a reason. A reversal whose answer is lost ends
 * `reversal_unknown` and is listed on Needs a person.
 */
export function reverseRoutes(deps: ConsoleDeps): Router {
  const router = express.Router();

  router.get('/console/payments/reverse', allowed('decide'), async (request, response) => {
    const who = signedIn(response);
    const ref = { batchId: queryValue(request.query.batch), paymentId: queryValue(request.query.payment) };
    if (ref.batchId === '' || ref.paymentId === '') throw new UsageError('say which payment to reverse: /console/payments/reverse?batch=<batch id>&payment=<payment id>');
    const { record, cannot } = await reversible(deps.context, ref);
    const body = html`${paymentFacts(record)}
${cannot === undefined ? reverseForm(record, who) : html`${notice(`It cannot be reversed: ${cannot}`, 'bad')}${backLinks(record)}`}`;
    response.type('html').send(page({ title: 'Reverse a payment', who, body }));
  });

  router.post('/console/payments/reverse', decisionForm, csrfChecked, allowed('decide'), async (request, response) => {
    const who = signedIn(response);
    const parsed = reverseFields.safeParse(request.body);
    if (!parsed.success) throw new UsageError(`${parsed.error.issues[0]!.message}; nothing was reversed`);
    const { batchId, paymentId, reason } = parsed.data;
    const { account } = await reversible(deps.context, { batchId, paymentId });
    // Said in the browser's words before the API says it in the command line's (--reason).
    const problem = reasonProblem(account, reason);
    if (problem !== undefined) throw new UsageError(`the reason ${problem}; nothing was reversed`);
    const [result] = await reversePayments(deps.context, { batchId, paymentIds: [paymentId], reason }, who.actor);
    await rewriteAfterDecision(deps, batchId);
    const record = (await deps.context.payments(account).get({ batchId, paymentId }))!;
    response.type('html').send(page({ title: 'Reverse a payment', who, body: html`${outcome(result!)}${paymentFacts(record)}${backLinks(record)}` }));
  });

  return router;
}

/** The form's fields; the reason's own rules (one line, no card number, the provider's limit) are the API's. */
const reverseFields = z.object({
  batchId: z.string({ error: 'the form names no batch' }).min(1, { error: 'the form names no batch' }),
  paymentId: z.string({ error: 'the form names no payment' }).min(1, { error: 'the form names no payment' }),
  reason: z.string({ error: 'give a reason for the reversal' }).trim().min(1, { error: 'give a reason for the reversal' }),
});

/** The payment, and why it cannot be reversed (its provider cannot, or it is not paid), if so. */
async function reversible(context: StipendContext, ref: PaymentRef) {
  const batch = await context.batches.get(ref.batchId);
  const account = accountOf(context, batch);
  const record = await context.payments(account).get(ref);
  if (!record) throw new UsageError(`batch ${ref.batchId} has no payment ${ref.paymentId}`);
  let cannot: string | undefined;
  try {
    reversalOf(account);
    if (record.status !== 'paid') cannot = whyNotReversible(record);
  } catch (error) {
    if (!(error instanceof ReversalRefusedError)) throw error;
    cannot = error.message;
  }
  return { account, record, cannot };
}

function paymentFacts(record: PaymentRecord): Html {
  return html`<dl class="facts">
<dt>Batch</dt><dd><a href="/console/batches/${encodeURIComponent(record.batch_id)}">${record.batch_id}</a> (${record.provider}/${record.account}, line ${record.line})</dd>
<dt>Payment</dt><dd>${record.payment_id}</dd>
<dt>Payee</dt><dd>${record.payee}</dd>
<dt>Amount</dt><dd>${usd(record.amount_cents)}</dd>
<dt>Status</dt><dd>${record.status}</dd>
<dt>Provider reference</dt><dd>${record.reference ?? 'none'}</dd>
<dt>Paid at</dt><dd>${record.settled_at ?? '?'}</dd>
${record.reversal_reference ? html`<dt>Reversal reference</dt><dd>${record.reversal_reference}</dd>` : ''}
</dl>`;
}

function reverseForm(record: PaymentRecord, who: SignedIn): Html {
  return html`<form class="stack" method="post" action="/console/payments/reverse">
${csrfField(who)}
<input type="hidden" name="batchId" value="${record.batch_id}">
<input type="hidden" name="paymentId" value="${record.payment_id}">
<label for="reason">Reason</label>
<input id="reason" name="reason" required maxlength="200" aria-describedby="reason-help">
<small id="reason-help">One line, kept with the payment and sent to the provider; never a card number.</small>
<button type="submit" class="danger">Reverse payment</button>
</form>`;
}

/** What the provider answered, in words. */
function outcome(result: ReversalResult): Html {
  const amount = usd(result.amountCents);
  switch (result.kind) {
    case 'reversed':
      return notice(`Payment ${result.paymentId} reversed: ${amount} came back (reversal reference ${result.reference}).`, 'good');
    case 'refused':
      return notice(`The provider refused to reverse payment ${result.paymentId}; nothing moved and it is still paid (${result.message}).`, 'bad');
    case 'retry_later':
      return notice(`The provider asked to try later; nothing moved and payment ${result.paymentId} is still paid (${result.message}).`, 'bad');
    case 'reversal_unknown':
      return notice(`The provider's answer was lost: the ${amount} may have come back. Payment ${result.paymentId} is listed on Needs a person; check with the provider and record what happened there.`, 'bad');
    case 'not_reversible':
    case 'skipped':
      return notice(`Payment ${result.paymentId} was not reversed: ${result.message}`, 'bad');
  }
}

function backLinks(record: PaymentRecord): Html {
  return html`<p><a href="/console/batches/${encodeURIComponent(record.batch_id)}">Back to batch ${record.batch_id}</a> · <a href="/console/needs-a-person">Needs a person</a></p>`;
}
