import express, { type Response, type Router } from 'express';
import { describeActor } from '../../audit/actor.js';
import { BatchNotFoundError } from '../../errors.js';
import { checkBatchId } from '../../ledger/batch-id.js';
import type { BatchRecord } from '../../ledger/batches.js';
import { may } from '../../people/roles.js';
import { count, plural, usd } from '../../readable-numbers.js';
import { BatchEvents } from '../batch-events.js';
import { progressCell, stateWord, totalsList } from '../batch-figures.js';
import { DOWNLOADS, sendReportFile } from '../batch-downloads.js';
import { when } from '../when.js';
import { ROWS_PER_PAGE, ROW_STATUSES, pageNumber, rowFilter, rowsPage, rowsTable } from '../batch-rows-view.js';
import type { ConsoleDeps } from '../deps.js';
import { allowed, signedIn } from '../guard.js';
import { type Html, html } from '../html.js';
import { notice, page } from '../layout.js';

/**
 * The batches: every batch, newest first, with its live progress (GET /console/batches); one batch's
 * facts and rows (GET /console/batches/:id); its report files (…/reconciliation.csv, …/summary.json);
 * and the live figures as server-sent events (GET /console/events). All read-only, for every role.
 */

const BATCHES_PER_PAGE = 50;

export function batchesPage(deps: ConsoleDeps): Router {
  const { context } = deps;
  const router = express.Router();
  const events = new BatchEvents(context.batches, deps.log);

  router.get('/console/batches', allowed('read'), async (request, response) => {
    const pageNo = pageNumber(request.query.page);
    const newestFirst = (await context.batches.batchIds()).reverse();
    const ids = newestFirst.slice((pageNo - 1) * BATCHES_PER_PAGE, pageNo * BATCHES_PER_PAGE);
    const batches = (await context.batches.getMany(ids)).filter((batch) => batch !== undefined);
    const older = newestFirst.length > pageNo * BATCHES_PER_PAGE;
    response.type('html').send(page({
      title: 'Batches', who: signedIn(response), current: '/console/batches',
      body: html`${newestFirst.length === 0 ? html`<p>No batch has been submitted yet.</p>` : batchesTable(batches)}
<nav class="pager" aria-label="More batches">
${pageNo > 1 ? html`<a href="/console/batches${pageNo === 2 ? '' : `?page=${pageNo - 1}`}">Newer batches</a>` : ''}
${older ? html`<a href="/console/batches?page=${pageNo + 1}">Older batches</a>` : ''}
</nav>`,
    }));
  });

  router.get('/console/batches/:id', allowed('read'), async (request, response) => {
    const batch = await batchOrNotFound(deps, String(request.params.id), response);
    if (!batch) return;
    const status = rowFilter(request.query.status);
    const pageNo = pageNumber(request.query.page);
    const { rows, more } = await rowsPage(context, batch, status, pageNo);
    const who = signedIn(response);
    const base = `/console/batches/${batch.batch_id}`;
    const pageLink = (n: number) => `${base}?${new URLSearchParams({ ...(status === 'all' ? {} : { status }), ...(n === 1 ? {} : { page: String(n) }) })}`;
    const reverseLink = may(who.person.role, 'decide')
      ? (row: { paymentId: string }) => `/console/payments/reverse?${new URLSearchParams({ batch: batch.batch_id, payment: row.paymentId })}`
      : undefined;
    response.type('html').send(page({
      title: `Batch ${batch.batch_id}`, who, current: '/console/batches',
      body: html`${batchFacts(batch)}
<h2>Report</h2>
<ul class="links">${DOWNLOADS.map((file) => html`<li><a href="${base}/${file}" download>${file}</a></li>`)}</ul>
<h2 id="rows">Rows</h2>
<p class="notice" data-rows-of="${batch.batch_id}" data-final="${batch.final}" data-state="${stateWord(batch)}" role="status" hidden>Payments have moved on since this page was loaded: <a href="">show the rows as they are now</a>.</p>
<form class="row" method="get" action="${base}">
<label for="status">Show rows <select id="status" name="status">
<option value="all"${status === 'all' ? html` selected` : ''}>all</option>
${ROW_STATUSES.map((s) => html`<option value="${s}"${s === status ? html` selected` : ''}>${s.replaceAll('_', ' ')}</option>`)}
</select></label>
<button type="submit">Filter</button>
</form>
${rowsTable(batch, rows, reverseLink)}
<nav class="pager" aria-label="More rows">
${pageNo > 1 ? html`<a href="${pageLink(pageNo - 1)}">Previous ${ROWS_PER_PAGE} rows</a>` : ''}
${more ? html`<a href="${pageLink(pageNo + 1)}">Next ${ROWS_PER_PAGE} rows</a>` : ''}
</nav>`,
    }));
  });

  for (const file of DOWNLOADS) {
    router.get(`/console/batches/:id/${file}`, allowed('read'), async (request, response) => {
      const batch = await batchOrNotFound(deps, String(request.params.id), response);
      if (batch) await sendReportFile(context, batch.batch_id, file, response);
    });
  }

  router.get('/console/events', allowed('read'), (request, response) => events.subscribe(request, response));
  return router;
}

/**
 * The batch `id` names, else undefined with a 404 page sent. An id that could never be a batch's
 * (ledger/batch-id.ts) is refused before it reaches a Redis key: 400, with why.
 */
async function batchOrNotFound(deps: ConsoleDeps, id: string, response: Response): Promise<BatchRecord | undefined> {
  try {
    return await deps.context.batches.get(checkBatchId(id));
  } catch (error) {
    if (!(error instanceof BatchNotFoundError)) throw error;
    response.status(404).type('html').send(page({
      title: 'No such batch', who: signedIn(response), current: '/console/batches',
      body: html`${notice(`No batch ${id} is recorded.`, 'bad')}<p><a href="/console/batches">Back to the batches</a></p>`,
    }));
    return undefined;
  }
}

function batchesTable(batches: readonly BatchRecord[]): Html {
  return html`<div class="table-wrap"><table>
<thead><tr><th scope="col">Batch</th><th scope="col">Account</th><th scope="col">File</th><th scope="col">Submitted by</th><th scope="col">Created</th><th scope="col">State</th><th scope="col">Progress</th><th scope="col">Totals</th></tr></thead>
<tbody>
${batches.map((batch) => html`<tr data-batch-id="${batch.batch_id}">
<th scope="row"><a href="/console/batches/${batch.batch_id}">${batch.batch_id}</a></th>
<td>${batch.provider}/${batch.account}</td>
<td>${batch.source}</td>
<td>${submittedBy(batch)}</td>
<td>${when(batch.created_at)}</td>
<td data-field="state">${stateWord(batch)}</td>
<td>${progressCell(batch)}</td>
<td>${totalsList(batch)}</td>
</tr>`)}
</tbody></table></div>`;
}

/** What the batch record says of the batch: where it came from, who decided, where it stands. */
function batchFacts(batch: BatchRecord): Html {
  const fact = (term: string, value: Html | string) => html`<dt>${term}</dt><dd>${value}</dd>`;
  const rows = [
    plural(batch.rows_total, 'row'),
    ...(batch.rejected > 0 ? [`${count(batch.rejected)} rejected`] : []),
    ...(batch.duplicates > 0 ? [plural(batch.duplicates, 'skipped as a duplicate', 'skipped as duplicates')] : []),
  ].join(', ');
  return html`<dl class="facts" data-batch-id="${batch.batch_id}">
${fact('Provider', batch.provider)}
${fact('Account', batch.account)}
${fact('File', batch.source)}
${fact('SHA-256', html`<code class="wrap">${batch.sha256}</code>`)}
${fact('Created', when(batch.created_at))}
${fact('Submitted by', submittedBy(batch))}
${fact('Approval rule', batch.approval_rule ?? 'none recorded')}
${batch.approved_by ? fact('Approved by', html`${describeActor(batch.approved_by, batch.approved_by_name)}${batch.approved_at ? html` at ${when(batch.approved_at)}` : ''}`) : ''}
${batch.canceled_by ? fact('Canceled by', describeActor(batch.canceled_by, batch.canceled_by_name)) : ''}
${batch.held_by ? fact('Held by', `${batch.held_by}${batch.held_reason ? `: ${batch.held_reason}` : ''}`) : ''}
${fact('Total', `${usd(batch.total_cents ?? batch.accepted_cents)} in ${plural(batch.accepted, 'payment')}`)}
${fact('Rows', rows)}
${fact('State', html`<span data-field="state">${stateWord(batch)}</span>`)}
${fact('Progress', progressCell(batch))}
${fact('Totals', totalsList(batch))}
${batch.n_conflict > 0 ? fact('Conflicts', `${plural(batch.n_conflict, 'conflicting paid answer')} to check with the provider`) : ''}
</dl>`;
}

function submittedBy(batch: BatchRecord): string {
  return batch.submitted_by ? describeActor(batch.submitted_by, batch.submitted_by_name) : 'not recorded';
}
