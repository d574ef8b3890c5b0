import type { DryRunResult } from '../batches/dry-run.js';
import type { Account } from '../config/load.js';
import type { ManifestScan, Problem } from '../manifest/index.js';
import { count, duration, plural, usd } from '../readable-numbers.js';
import type { SignedIn } from './guard.js';
import { type Html, html } from './html.js';
import { csrfField } from './layout.js';
import { UPLOAD_LIMIT_MB } from './upload-files.js';

/** The upload page's parts: the form, a refused manifest's problems, a clean one's summary and its "Submit batch". */

/** Problems shown in the table; the rest are counted below it. */
const SHOWN_PROBLEMS = 200;

/** `provider/name`, as the form's values and the upload record name an account. */
export const accountKey = (account: Account): string => `${account.provider}/${account.name}`;

/** "CT Payer — main": an account as people know it. */
export const accountLabel = (account: Account): string => `${account.adapter.name} — ${account.name}`;

export function uploadForm(who: SignedIn, accounts: Account[], chosen?: string): Html {
  return html`<form class="stack" method="post" action="/console/upload" enctype="multipart/form-data">
${csrfField(who)}
<label for="account">Account<select id="account" name="account" required>
${accounts.map((a) => html`<option value="${accountKey(a)}"${accountKey(a) === chosen ? html` selected` : ''}>${accountLabel(a)}</option>`)}
</select></label>
<label for="manifest">Manifest (CSV)<input id="manifest" name="manifest" type="file" accept=".csv,text/csv" required aria-describedby="manifest-hint"></label>
<p id="manifest-hint">One CSV file of at most ${UPLOAD_LIMIT_MB} MB, UTF-8, in the account's manifest format. Validating records nothing and pays nothing: you see what it holds, then submit it.</p>
<button type="submit">Validate</button>
</form>`;
}

/** A refused manifest: every problem by line and column with the rule it breaks (the first SHOWN_PROBLEMS of them). */
export function problemsTable(scan: ManifestScan): Html {
  const problems: Problem[] = [...scan.fileProblems, ...scan.rowProblems];
  const shown = problems.slice(0, SHOWN_PROBLEMS);
  const more = scan.fileProblems.length + scan.rowProblemCount - shown.length;
  if (shown.length === 0) return html``;
  return html`<h2 id="problems">Problems</h2>
<div class="table-wrap"><table aria-labelledby="problems">
<thead><tr><th scope="col" class="num">Line</th><th scope="col">Column</th><th scope="col">Problem</th></tr></thead>
<tbody>
${shown.map((p) => html`<tr><td class="num">${count(p.line)}</td><td>${p.column ?? '—'}</td><td>${p.message}</td></tr>`)}
</tbody>
</table></div>
${more > 0 ? html`<p>… and ${plural(more, 'more problem')} not shown: correct these and validate again to see them.</p>` : ''}`;
}

/** What the scan found, in one line: "12 rows: 10 valid ($750.00), 2 with problems". */
export function describeRows(scan: ManifestScan): string {
  if (scan.dataRows === 0) return scan.fileProblems.length > 0 ? 'the file cannot be read as a manifest' : 'the file has no rows';
  const problems = scan.fileProblems.length > 0 ? `, and ${plural(scan.fileProblems.length, 'problem')} with the file as a whole` : '';
  return `${plural(scan.dataRows, 'row')}: ${count(scan.validRows)} valid (${usd(scan.validCents)}), ${count(scan.rejectedRows)} with problems${problems}`;
}

/** A clean manifest: what submitting it would do (the same facts as `stipend run --dry-run`), and the form that does it. */
export function cleanSummary(who: SignedIn, account: Account, original: string, result: Extract<DryRunResult, { accepted: true }>, token: string): Html {
  const { scan, earlier, held, funding, approval, toPay } = result;
  const resumed = earlier?.state === 'enqueuing';
  const rate = `${plural(account.rateLimit.max, 'payment')} per ${duration(account.rateLimit.perMs)}`;
  return html`<dl class="facts">
<dt>File</dt><dd>${original} <small>(SHA-256 <code>${scan.sha256}</code>)</small></dd>
<dt>Account</dt><dd>${accountLabel(account)}</dd>
<dt>Rows</dt><dd>${plural(scan.dataRows, 'row')}, all valid</dd>
<dt>Total</dt><dd>${usd(scan.validCents)}</dd>
<dt>Approval</dt><dd>${approval === undefined ? 'Not needed: it is paid as soon as you submit it' : `Needed: ${approval}. Someone other than you approves it on the Approvals page before anything is paid`}</dd>
<dt>Funding balance</dt><dd>${resumed
    ? `Checked when batch ${earlier.batch_id} was made`
    : funding.balanceCents === undefined ? `${account.adapter.name} does not tell its funding balance; not checked` : `${usd(funding.balanceCents)}, enough for ${usd(scan.validCents)}`}</dd>
<dt>Time to pay</dt><dd>${toPay.payments === 0
    ? 'Nothing to pay: an earlier batch holds every payment of it'
    : `About ${duration(toPay.ms)} for ${plural(toPay.payments, 'payment')} (${usd(toPay.cents)}) at the account's rate limit of ${rate}`}</dd>
<dt>Already held</dt><dd>${held.rows === 0
    ? 'No payment of it is held by an earlier batch'
    : html`${plural(held.rows, 'payment')} (${usd(held.cents)}) already held by earlier batches (first: ${held.first!.paymentId} in ${batchLink(held.first!.batchId)}); they are skipped, not paid again`}</dd>
<dt>This file before</dt><dd>${earlier === undefined
    ? 'Not submitted through this account before'
    : resumed
      ? html`Its ${batchLink(earlier.batch_id)} was cut short while being queued; submitting finishes that batch rather than making a new one`
      : html`Already submitted as ${batchLink(earlier.batch_id)} (${earlier.source}, ${earlier.created_at}, ${earlier.state.replaceAll('_', ' ')}); submitting makes a new batch, which pays only the payments no batch holds`}</dd>
</dl>
${result.busy ? html`<p role="status">This file is being queued by another submitter right now: a submission is refused until that is done.</p>` : ''}
<form class="stack" method="post" action="/console/submit">
${csrfField(who)}
<input type="hidden" name="upload" value="${token}">
<button type="submit">Submit batch</button>
</form>
<p><a href="/console/upload">Upload another file instead</a></p>`;
}

const batchLink = (batchId: string): Html => html`<a href="/console/batches/${batchId}">batch ${batchId}</a>`;
