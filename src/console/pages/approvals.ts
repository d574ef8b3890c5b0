import express, { type Router } from 'express';
import pLimit from 'p-limit';
import { ApprovalRefusedError } from '../../approval/approval-errors.js';
import { approvalReason } from '../../approval/approval-rule.js';
import { accountOf } from '../../batches/account-of.js';
import { approvalSummary, approveBatch, refuseUnfitApprover } from '../../batches/approval.js';
import { cancelBatch } from '../../batches/cancel.js';
import type { StipendContext } from '../../context.js';
import { StipendError } from '../../errors.js';
import type { BatchRecord } from '../../ledger/batches.js';
import { may } from '../../people/roles.js';
import type { ConsoleDeps } from '../deps.js';
import { allowed, csrfChecked, type SignedIn, signedIn } from '../guard.js';
import { type Html, html } from '../html.js';
import { csrfField, notice, page } from '../layout.js';
import { batchesWhere, decisionForm, queryValue, rewriteAfterDecision } from './decisions.js';

/**
 * Approvals: the batches awaiting approval, each with what `stipend approve` shows before it
 * approves (approvalSummary), and for an approver the buttons that approve or cancel it. Whether a
 * person may approve is judged by approveBatch (maker-checker), never by this page: the disabled
 * button is only a courtesy.
 */
export function approvalsPage(deps: ConsoleDeps): Router {
  const router = express.Router();

  router.get('/console/approvals', allowed('read'), async (request, response) => {
    const who = signedIn(response);
    const waiting = await batchesWhere(deps.context, (batch) => batch.state === 'awaiting_approval');
    // Each summary may read a funding balance from the provider: a few at a time.
    const limit = pLimit(4);
    const sections = await Promise.all(waiting.map((batch) => limit(() => waitingBatch(deps.context, batch, who))));
    response.type('html').send(page({
      title: 'Approvals', who, current: '/console/approvals',
      body: html`${doneNotice(queryValue(request.query.done))}
${waiting.length === 0 ? html`<p>No batch is awaiting approval.</p>` : sections}`,
    }));
  });

  router.post('/console/batches/:id/approve', decisionForm, csrfChecked, allowed('decide'), async (request, response) => {
    const batchId = String(request.params.id);
    await approveBatch(deps.context, batchId, signedIn(response).actor);
    await rewriteAfterDecision(deps, batchId);
    response.redirect(303, `/console/approvals?done=${encodeURIComponent(`approved:${batchId}`)}`);
  });

  router.post('/console/batches/:id/cancel', decisionForm, csrfChecked, allowed('decide'), async (request, response) => {
    const batchId = String(request.params.id);
    await cancelBatch(deps.context, batchId, signedIn(response).actor);
    await rewriteAfterDecision(deps, batchId);
    response.redirect(303, `/console/approvals?done=${encodeURIComponent(`canceled:${batchId}`)}`);
  });

  return router;
}

/** One batch awaiting approval: what the approver checks, then the decision. */
async function waitingBatch(context: StipendContext, batch: BatchRecord, who: SignedIn): Promise<Html> {
  const id = batch.batch_id;
  let summary: string;
  let why: string;
  try {
    summary = await approvalSummary(context, batch);
    why = batch.held_reason ?? approvalReason(accountOf(context, batch), batch.total_cents ?? batch.accepted_cents) ?? 'the account\'s rule when it was submitted';
  } catch (error) {
    // An account no longer configured: the batch is still shown, and may still be canceled.
    if (!(error instanceof StipendError)) throw error;
    summary = error.message;
    why = 'unknown (see above)';
  }
  return html`<section class="batch" aria-labelledby="batch-${id}">
<h2 id="batch-${id}"><a href="/console/batches/${encodeURIComponent(id)}">Batch ${id}</a></h2>
<ul class="summary">${summary.split('\n').map((line) => html`<li>${line}</li>`)}</ul>
<dl class="facts">
<dt>Approval rule</dt><dd>${batch.approval_rule ?? 'not recorded'}</dd>
<dt>Why it needs approval</dt><dd>${why}</dd>
</dl>
${decision(batch, who)}
</section>`;
}

/** The approver's buttons; the submitter sees why they may not approve; a viewer who may. */
function decision(batch: BatchRecord, who: SignedIn): Html {
  if (!may(who.person.role, 'decide')) return html`<p>An approver approves or cancels this batch.</p>`;
  const path = `/console/batches/${encodeURIComponent(batch.batch_id)}`;
  let refusal: string | undefined;
  try {
    refuseUnfitApprover(batch, who.actor);
  } catch (error) {
    if (!(error instanceof ApprovalRefusedError)) throw error;
    refusal = error.message;
  }
  const reasonId = `refusal-${batch.batch_id}`;
  return html`<div class="actions">
<form class="inline" method="post" action="${path}/approve">${csrfField(who)}${refusal === undefined
    ? html`<button type="submit">Approve</button>`
    : html`<button type="submit" disabled aria-describedby="${reasonId}">Approve</button> <span id="${reasonId}">You cannot approve it: ${refusal}.</span>`}</form>
<form class="inline" method="post" action="${path}/cancel">${csrfField(who)}<button type="submit" class="danger">Cancel batch</button></form>
</div>`;
}

/** What the last decision did, from `?done=approved:<id>` or `canceled:<id>` (escaped like every value). */
function doneNotice(done: string): Html {
  const [what, ...rest] = done.split(':');
  const batchId = rest.join(':');
  if (batchId === '') return html``;
  if (what === 'approved') return notice(`Batch ${batchId} approved: its payments are queued.`, 'good');
  if (what === 'canceled') return notice(`Batch ${batchId} canceled: nothing of it was sent.`, 'good');
  return html``;
}
