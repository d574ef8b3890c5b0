import { join } from 'node:path';
import express, { type Request, type Router } from 'express';
import { describeActor } from '../../audit/actor.js';
import { AUDIT_EVENTS, type AuditEntry, type AuditEvent } from '../../audit/audit-entry.js';
import { type AuditFilter, auditEntriesNewestFirst, periodOfDays } from '../../audit/audit-trail.js';
import type { StipendContext } from '../../context.js';
import { UsageError } from '../../errors.js';
import { checkBatchId } from '../../ledger/batch-id.js';
import { writeAuditCsv } from '../../reports/audit-csv.js';
import type { ConsoleDeps } from '../deps.js';
import { sendWrittenFile } from '../download.js';
import { queryField, queryPeriod } from '../form-fields.js';
import { allowed, signedIn } from '../guard.js';
import { type Html, html } from '../html.js';
import { page } from '../layout.js';
import { when } from '../when.js';

/** Entries on one page of the trail; "Older entries" goes on from the last one shown. */
const PER_PAGE = 200;
/** What "Who" may hold: a part of an identity (`console:bob`, `alice@ops-1`). */
const MAX_WHO = 100;

/** The filters as the form sends them back, to fill the form and the links again. */
interface Filters {
  from?: string;
  to?: string;
  batch?: string;
  event?: AuditEvent;
  identity?: string;
}

/**
 * The audit trail (audit/audit-trail.ts), newest first, filtered by period, batch, event and who,
 * a page at a time: a page reads the stream backwards from where the last one ended (XREVRANGE), so
 * however long the trail is, a page reads only what it shows and what its filters pass over. The
 * CSV is the one `stipend export --with-audit` writes (reports/audit-csv.ts), oldest first.
 */
export function auditPage(deps: ConsoleDeps): Router {
  const router = express.Router();
  const { context } = deps;

  router.get('/console/audit', allowed('read'), async (request, response) => {
    const filters = await readFilters(request, context);
    const before = queryField(request, 'before', 'Older entries');
    if (before !== undefined && !/^\d{1,15}-\d{1,19}$/.test(before)) throw new UsageError('Older entries: not a place in the audit trail; start again from the first page');
    const entries: AuditEntry[] = [];
    let more = false;
    for await (const entry of auditEntriesNewestFirst(context, filterOf(filters), before)) {
      if (entries.length === PER_PAGE) {
        more = true;
        break;
      }
      entries.push(entry);
    }
    const query = queryOf(filters);
    const older = new URLSearchParams(query);
    if (more) older.set('before', entries.at(-1)!.id);
    response.type('html').send(page({
      title: 'Audit', who: signedIn(response), current: '/console/audit',
      body: html`${filterForm(filters)}
<p><a href="/console/audit.csv${withQuery(query)}">Download CSV</a> (oldest first, every entry these filters keep)</p>
${entries.length === 0 ? html`<p>No decisions recorded for these filters${before === undefined ? '' : ' before this page'}.</p>` : trail(entries)}
${more ? html`<p><a href="/console/audit${withQuery(older)}">Older entries</a></p>` : ''}
${before === undefined ? '' : html`<p><a href="/console/audit${withQuery(query)}">Newest entries</a></p>`}`,
    }));
  });

  router.get('/console/audit.csv', allowed('read'), async (request, response) => {
    const filters = await readFilters(request, context);
    await sendWrittenFile(response, context.config.prefix, 'audit.csv', async (dir) => {
      const file = join(dir, 'audit.csv');
      await writeAuditCsv(context, file, filterOf(filters));
      return file;
    });
  });
  return router;
}

async function readFilters(request: Request, context: StipendContext): Promise<Filters> {
  const { from, to } = queryPeriod(request);
  const batch = queryField(request, 'batch', 'Batch')?.trim();
  // A mistyped batch id says so, rather than an empty trail (as `stipend audit --batch` does).
  if (batch !== undefined && batch !== '') await context.batches.get(checkBatchId(batch));
  const event = queryField(request, 'event', 'Event');
  if (event !== undefined && !(AUDIT_EVENTS as readonly string[]).includes(event)) throw new UsageError(`Event: one of ${AUDIT_EVENTS.join(', ')}`);
  const identity = queryField(request, 'identity', 'Who')?.trim();
  if (identity !== undefined && (identity.length > MAX_WHO || /\p{Cc}/u.test(identity))) throw new UsageError(`Who: at most ${MAX_WHO} printable characters on one line`);
  return {
    ...(from === undefined ? {} : { from }),
    ...(to === undefined ? {} : { to }),
    ...(batch === undefined || batch === '' ? {} : { batch }),
    ...(event === undefined ? {} : { event: event as AuditEvent }),
    ...(identity === undefined || identity === '' ? {} : { identity }),
  };
}

function filterOf(filters: Filters): AuditFilter {
  return {
    ...periodOfDays(filters.from, filters.to),
    ...(filters.batch === undefined ? {} : { batchId: filters.batch }),
    ...(filters.event === undefined ? {} : { event: filters.event }),
    ...(filters.identity === undefined ? {} : { identity: filters.identity }),
  };
}

function queryOf(filters: Filters): URLSearchParams {
  return new URLSearchParams(Object.entries(filters).filter((pair): pair is [string, string] => pair[1] !== undefined));
}

function withQuery(query: URLSearchParams): string {
  return query.size === 0 ? '' : `?${query.toString()}`;
}

function filterForm(filters: Filters): Html {
  return html`<form class="row" method="get" action="/console/audit">
<label for="from">From<input id="from" name="from" type="date" value="${filters.from}"></label>
<label for="to">To<input id="to" name="to" type="date" value="${filters.to}"></label>
<label for="batch">Batch<input id="batch" name="batch" value="${filters.batch}" maxlength="64" autocomplete="off"></label>
<label for="event">Event<select id="event" name="event"><option value="">any</option>${AUDIT_EVENTS.map((e) => html`<option value="${e}"${e === filters.event ? html` selected` : ''}>${e}</option>`)}</select></label>
<label for="identity">Who<input id="identity" name="identity" value="${filters.identity}" maxlength="${MAX_WHO}" autocomplete="off"></label>
<button type="submit">Filter</button>
</form>`;
}

function trail(entries: AuditEntry[]): Html {
  return html`<div class="table-wrap"><table>
<caption>Newest first</caption>
<thead><tr><th scope="col">At</th><th scope="col">Event</th><th scope="col">Who</th><th scope="col">Where</th><th scope="col">Batch</th><th scope="col">Payment</th><th scope="col">Details</th></tr></thead>
<tbody>
${entries.map((e) => html`<tr>
<td>${when(e.at)}</td>
<td>${e.event}</td>
<td>${describeActor(e.identity, e.display_name)}</td>
<td>${e.host}</td>
<td>${e.batch_id === '' ? '' : html`<a href="/console/batches/${encodeURIComponent(e.batch_id)}">${e.batch_id}</a>`}</td>
<td>${e.payment_id}</td>
<td>${e.details}</td>
</tr>`)}
</tbody>
</table></div>`;
}
