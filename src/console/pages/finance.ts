import { join } from 'node:path';
import express, { type Request, type Response, type Router } from 'express';
import { UsageError } from '../../errors.js';
import { GROUPINGS, writeFinanceExport } from '../../reports/finance-export.js';
import { taxExportOptions, thresholdFor, writeTaxExport } from '../../reports/tax-export.js';
import type { ConsoleDeps } from '../deps.js';
import { sendWrittenFile } from '../download.js';
import { queryField, queryPeriod } from '../form-fields.js';
import { allowed, signedIn } from '../guard.js';
import { html } from '../html.js';
import { page } from '../layout.js';

const GROUPING_NAMES: Record<(typeof GROUPINGS)[number], string> = {
  provider: 'Provider',
  account: 'Account',
  groupId: 'Group (the provider\'s group field, e.g. a site)',
  batch: 'Batch',
};

/**
 * Finance: the period export and the tax year, downloaded as the CSV files `stipend export` and
 * `stipend export tax` write (reports/finance-export.ts, reports/tax-export.ts), so the browser and
 * the command line never disagree on a figure.
 */
export function financePage(deps: ConsoleDeps): Router {
  const router = express.Router();
  const { context } = deps;

  router.get('/console/finance', allowed('read'), (_request, response) => {
    const today = new Date().toISOString().slice(0, 10);
    response.type('html').send(page({
      title: 'Finance', who: signedIn(response), current: '/console/finance',
      body: html`<h2>Payments in a period</h2>
<p>Every payment settled between two days (UTC, both included), across batches, as <code>stipend export</code> writes it: a reversal is a negative row on the day it was confirmed. The totals per group and status are a file of their own.</p>
<form class="row" method="get" action="/console/finance/export.csv">
<label for="from">From<input id="from" name="from" type="date" required value="${today.slice(0, 8)}01"></label>
<label for="to">To<input id="to" name="to" type="date" required value="${today}"></label>
<label for="groupBy">Group by<select id="groupBy" name="groupBy">${GROUPINGS.map((g) => html`<option value="${g}">${GROUPING_NAMES[g]}</option>`)}</select></label>
<button type="submit">Download export</button>
<button type="submit" class="secondary" formaction="/console/finance/export.totals.csv">Download totals</button>
</form>
<h2>Tax year</h2>
<p>Year-to-date totals per participant across providers, flagged at the year's information-return threshold; reimbursements kept out (<code>stipend export tax</code>).</p>
<form class="row" method="get" action="/console/finance/tax.csv">
<label for="year">Tax year<input id="year" name="year" type="number" inputmode="numeric" min="1000" max="9999" step="1" required value="${today.slice(0, 4)}"></label>
<button type="submit">Download tax year</button>
</form>`,
    }));
  });

  const exportFile = (part: 'rows' | 'totals') => async (request: Request, response: Response) => {
    const { from, to } = queryPeriod(request);
    if (from === undefined || to === undefined) throw new UsageError('From and To are both needed: the first and the last day of the period');
    const groupBy = queryField(request, 'groupBy', 'Group by') ?? 'provider';
    if (!(GROUPINGS as readonly string[]).includes(groupBy)) throw new UsageError(`Group by: one of ${GROUPINGS.join(', ')}`);
    const name = `export-${from}-to-${to}`;
    await sendWrittenFile(response, context.config.prefix, part === 'rows' ? `${name}.csv` : `${name}.totals.csv`, async (dir) => {
      const written = await writeFinanceExport(context, { from, to, groupBy: groupBy as (typeof GROUPINGS)[number], out: join(dir, `${name}.csv`) });
      return part === 'rows' ? written.rowsFile : written.totalsFile;
    });
  };
  router.get('/console/finance/export.csv', allowed('read'), exportFile('rows'));
  router.get('/console/finance/export.totals.csv', allowed('read'), exportFile('totals'));

  router.get('/console/finance/tax.csv', allowed('read'), async (request, response) => {
    const year = queryField(request, 'year', 'Tax year');
    if (year === undefined) throw new UsageError('Tax year is needed, e.g. 2026');
    const parsed = taxExportOptions.safeParse({ year, out: '-' });
    if (!parsed.success) throw new UsageError(`Tax year: ${parsed.error.issues[0]!.message}`);
    // A year with no configured threshold is refused before anything is written.
    thresholdFor(context.config, parsed.data.year);
    await sendWrittenFile(response, context.config.prefix, `tax-${year}.csv`, async (dir) => (await writeTaxExport(context, { year, out: join(dir, `tax-${year}.csv`) })).file);
  });
  return router;
}
