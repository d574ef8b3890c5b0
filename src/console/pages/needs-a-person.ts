import { when } from '../when.js';
import express, { type Router } from 'express';
import { z } from 'zod';
import { type RowNeedingAction, rowsNeedingAction } from '../../batches/needs-action.js';
import { resolvePayment } from '../../batches/settle.js';
import type { StipendContext } from '../../context.js';
import { UsageError } from '../../errors.js';
import type { BatchRecord } from '../../ledger/batches.js';
import { may } from '../../people/roles.js';
import { text } from '../../providers/field-rules.js';
import { count, usd } from '../../readable-numbers.js';
import { resolveReversal } from '../../reversals/resolve.js';
import type { ConsoleDeps } from '../deps.js';
import { allowed, csrfChecked, type SignedIn, signedIn } from '../guard.js';
import { type Html, html } from '../html.js';
import { csrfField, notice, page } from '../layout.js';
import { batchesWhere, decisionForm, queryValue, rewriteAfterDecision } from './decisions.js';
import { reverseRoutes } from './reverse.js';

/**
 * Needs a person: every payment whose outcome is in doubt (`unknown`) and every reversal in doubt
 * (`reversal_unknown`), across all batches, with what the ledger knows of it; an approver records
 * what the provider says happened (resolvePayment / resolveReversal, as `stipend resolve`).
 * Reversing a paid payment lives beside it (reverse.ts): its doubts end up here.
 */
export function needsAPersonPage(deps: ConsoleDeps): Router {
  const router = express.Router();

  router.get('/console/needs-a-person', allowed('read'), async (request, response) => {
    const who = signedIn(response);
    const found = await rowsInDoubt(deps.context);
    const shown = found.rows.slice(0, SHOWN_AT_MOST);
    const body = html`${doneNotice(queryValue(request.query.done))}
${found.total === 0 ? html`<p>No payment needs a person: no outcome is in doubt.</p>` : html`<p>${count(found.total)} ${found.total === 1 ? 'payment needs' : 'payments need'} a person: check each with the provider, then record what happened.${found.total > shown.length ? ` The first ${count(shown.length)} are shown; record them and reload for the rest.` : ''}</p>`}
${shown.map((row, i) => rowInDoubt(row, i, who))}`;
    response.type('html').send(page({ title: 'Needs a person', who, current: '/console/needs-a-person', body }));
  });

  router.post('/console/payments/resolve', decisionForm, csrfChecked, allowed('decide'), async (request, response) => {
    const parsed = resolveForm.safeParse(request.body);
    if (!parsed.success) throw new UsageError(`${formProblem(parsed.error.issues[0]!)}; nothing was recorded`);
    const form = parsed.data;
    const ref = { batchId: form.batchId, paymentId: form.paymentId };
    const { actor } = signedIn(response);
    const reference = form.reference ?? '';
    switch (form.verdict) {
      case 'paid':
        await resolvePayment(deps.context, ref, { paid: reference }, actor, form.note);
        break;
      case 'not-paid':
        await resolvePayment(deps.context, ref, { notPaid: true }, actor, form.note);
        break;
      case 'reversed':
        await resolveReversal(deps.context, ref, { reversed: reference }, actor, form.note);
        break;
      case 'not-reversed':
        await resolveReversal(deps.context, ref, { notReversed: true }, actor, form.note);
        break;
    }
    await rewriteAfterDecision(deps, form.batchId);
    response.redirect(303, `/console/needs-a-person?done=${encodeURIComponent(`${form.verdict}:${form.paymentId}`)}`);
  });

  router.use(reverseRoutes(deps));
  return router;
}

// One page of forms stays usable; the count says how many more wait.
const SHOWN_AT_MOST = 200;

const VERDICTS = ['paid', 'not-paid', 'reversed', 'not-reversed'] as const;
type Verdict = (typeof VERDICTS)[number];
const VERDICT_WORDS: Record<Verdict, string> = { paid: 'paid', 'not-paid': 'not paid', reversed: 'reversed', 'not-reversed': 'not reversed' };

/** The Resolve form; the note's own rule (one line, no card number) is resolvePayment's. */
const resolveForm = z
  .object({
    batchId: z.string({ error: 'the form names no batch' }).min(1, { error: 'the form names no batch' }),
    paymentId: z.string({ error: 'the form names no payment' }).min(1, { error: 'the form names no payment' }),
    verdict: z.enum(VERDICTS, { error: 'choose what happened: Paid or Not paid (for a reversal, Reversed or Not reversed)' }),
    reference: z
      .string()
      .trim()
      .optional()
      .transform((value) => (value === '' ? undefined : value))
      .pipe(text({ max: 100 }).optional()),
    note: z.string().optional(),
  })
  .superRefine((form, context) => {
    if ((form.verdict === 'paid' || form.verdict === 'reversed') && form.reference === undefined) {
      context.addIssue({ code: 'custom', path: ['reference'], message: `a payment found ${VERDICT_WORDS[form.verdict]} needs the provider reference for it` });
    }
  });

/** A form's problem in one line: the field rules' messages say what is wrong, this says with what. */
function formProblem(issue: z.core.$ZodIssue): string {
  return issue.path[0] === 'reference' && issue.code !== 'custom' ? `the provider reference ${issue.message}` : issue.message;
}

interface RowInDoubt {
  batch: BatchRecord;
  row: RowNeedingAction;
  /** The ledger's times and attempts for the row, which the list of rows needing action does not carry. */
  times: Record<(typeof TIMES)[number], string | null>;
}

const TIMES = ['submitted_at', 'sending_at', 'settled_at', 'attempts', 'reference', 'reversal_requested_at', 'reversal_settled_at', 'reversal_by', 'reversal_reason'] as const;

/**
 * Every row in doubt, batch by batch (oldest first). Only batches whose counts hold such a row are
 * read row by row; the batch records say which.
 */
async function rowsInDoubt(context: StipendContext): Promise<{ rows: RowInDoubt[]; total: number }> {
  const batches = await batchesWhere(context, (batch) => batch.n_unknown + batch.n_reversal_unknown > 0);
  const total = batches.reduce((sum, batch) => sum + batch.n_unknown + batch.n_reversal_unknown, 0);
  const rows: RowInDoubt[] = [];
  for (const batch of batches) {
    if (rows.length >= SHOWN_AT_MOST) break;
    const found: RowNeedingAction[] = [];
    for await (const page of rowsNeedingAction(context, batch)) {
      found.push(...page.filter((row) => row.kind === 'unknown' || row.kind === 'reversal_unknown'));
    }
    const ledger = context.payments({ provider: batch.provider, name: batch.account });
    const times = await ledger.readMany(found.map((row) => ({ batchId: batch.batch_id, paymentId: row.paymentId })), TIMES);
    found.forEach((row, i) => rows.push({ batch, row, times: times[i]! }));
  }
  return { rows, total };
}

function rowInDoubt({ batch, row, times }: RowInDoubt, i: number, who: SignedIn): Html {
  const reversal = row.kind === 'reversal_unknown';
  const batchPath = `/console/batches/${encodeURIComponent(batch.batch_id)}`;
  return html`<section class="in-doubt" aria-labelledby="row-${i}">
<h2 id="row-${i}">Payment ${row.paymentId} <span class="tag status-${reversal ? 'reversal' : 'unknown'}">${reversal ? 'reversal unknown' : 'unknown'}</span></h2>
<dl class="facts">
<dt>Batch</dt><dd><a href="${batchPath}">${batch.batch_id}</a> (${batch.provider}/${batch.account}, line ${row.line})</dd>
<dt>Payee</dt><dd>${row.payee}${row.participantId ? ` (participant ${row.participantId})` : ''}</dd>
<dt>Amount</dt><dd>${row.cents === undefined ? 'unknown' : usd(row.cents)}</dd>
<dt>Status</dt><dd>${row.status}</dd>
${reversal
    ? html`<dt>Paid</dt><dd>${at(times.settled_at)} (reference ${times.reference ?? '?'})</dd>
<dt>Reversal asked</dt><dd>${at(times.reversal_requested_at)} by ${times.reversal_by ?? '?'}: ${times.reversal_reason ?? ''}</dd>
<dt>Reversal in doubt since</dt><dd>${at(times.reversal_settled_at)}</dd>`
    : html`<dt>Submitted</dt><dd>${at(times.submitted_at)}</dd>
<dt>Last attempt</dt><dd>${times.sending_at ? when(times.sending_at) : 'never marked sending'}</dd>
<dt>In doubt since</dt><dd>${at(times.settled_at)}</dd>
<dt>Attempts</dt><dd>${times.attempts ?? '0'}</dd>`}
<dt>Last answer</dt><dd>${[row.code, row.message].filter(Boolean).join(': ') || 'none'}</dd>
</dl>
${may(who.person.role, 'decide') ? resolveFormFor(batch.batch_id, row, i, who) : html`<p>An approver records what happened.</p>`}
</section>`;
}

function resolveFormFor(batchId: string, row: RowNeedingAction, i: number, who: SignedIn): Html {
  const reversal = row.kind === 'reversal_unknown';
  const choices: [Verdict, string][] = reversal ? [['reversed', 'Reversed'], ['not-reversed', 'Not reversed']] : [['paid', 'Paid'], ['not-paid', 'Not paid']];
  return html`<form class="stack" method="post" action="/console/payments/resolve">
${csrfField(who)}
<input type="hidden" name="batchId" value="${batchId}">
<input type="hidden" name="paymentId" value="${row.paymentId}">
<fieldset>
<legend>${reversal ? 'Did the money come back?' : 'Was it paid?'}</legend>
${choices.map(([value, label]) => html`<label><input type="radio" name="verdict" value="${value}" required> ${label}</label> `)}
</fieldset>
<label for="reference-${i}">Provider reference</label>
<input id="reference-${i}" name="reference" maxlength="100" aria-describedby="reference-help-${i}">
<small id="reference-help-${i}">Required for ${reversal ? 'Reversed' : 'Paid'}: the provider's id for ${reversal ? 'the reversal' : 'the payment'}.</small>
<label for="note-${i}">Note</label>
<input id="note-${i}" name="note" maxlength="200">
<button type="submit">Resolve</button>
</form>`;
}

/** What the last verdict recorded, from `?done=<verdict>:<paymentId>`. */
function doneNotice(done: string): Html {
  const at = done.indexOf(':');
  const verdict = done.slice(0, at) as Verdict;
  const paymentId = done.slice(at + 1);
  if (at < 0 || paymentId === '' || !VERDICTS.includes(verdict)) return html``;
  return notice(`Payment ${paymentId} recorded as ${VERDICT_WORDS[verdict]}.${verdict === 'not-paid' ? ' It is failed now: retry the batch to pay it again.' : ''}`, 'good');
}

/** A time the ledger recorded, as people read it; '?' where it has none. */
function at(iso: string | null | undefined): Html | string {
  return iso ? when(iso) : '?';
}
