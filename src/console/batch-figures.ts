import { type BatchRecord, isSettled } from '../ledger/batches.js';
import { FINAL_STATUSES } from '../ledger/payment-status.js';
import { count, usd } from '../readable-numbers.js';
import { type Html, html } from './html.js';

/**
 * A batch's figures as the console shows them, from the batch record's counts alone (a batch of any
 * size answers at once): the same figures the pages render and the event stream sends, under the
 * same names. A page marks each live cell `data-field="<name>"` inside an element
 * `data-batch-id="<id>"`; the console's script (assets.ts) puts an event's value of that name in it.
 */

/** The statuses a batch's totals are told by: every final status, and the payments not final yet. */
export const TOTALS = [...FINAL_STATUSES, 'pending'] as const;
export type TotalName = (typeof TOTALS)[number];

export interface BatchFigures {
  batchId: string;
  /** Where the batch stands, in words (stateWord). */
  state: string;
  /** Accepted payments with a final status, of `accepted`. */
  final: number;
  accepted: number;
  rowsTotal: number;
  /** Per total: its count under its own name and its money under `<name>Amount` ("$1,234.50"). */
  [total: string]: string | number;
}

/** enqueuing, awaiting approval, enqueued (being paid), settled (every payment final) or canceled. */
export function stateWord(batch: BatchRecord): string {
  if (batch.state === 'canceled') return 'canceled';
  if (batch.state === 'awaiting_approval') return 'awaiting approval';
  return isSettled(batch) ? 'settled' : batch.state;
}

/** A total's count and cents: a final status's from the record, pending as what is not final yet. */
export function total(batch: BatchRecord, name: TotalName): { count: number; cents: number } {
  if (name !== 'pending') return { count: batch[`n_${name}`], cents: batch[`c_${name}`] };
  const finalCents = FINAL_STATUSES.reduce((sum, status) => sum + batch[`c_${status}`], 0);
  return { count: Math.max(batch.accepted - batch.final, 0), cents: Math.max(batch.accepted_cents - finalCents, 0) };
}

export function batchFigures(batch: BatchRecord): BatchFigures {
  const figures: BatchFigures = { batchId: batch.batch_id, state: stateWord(batch), final: batch.final, accepted: batch.accepted, rowsTotal: batch.rows_total };
  for (const name of TOTALS) {
    const { count: n, cents } = total(batch, name);
    figures[name] = n;
    figures[`${name}Amount`] = usd(cents);
  }
  return figures;
}

/** The progress bar and "n of m final", live. */
export function progressCell(batch: BatchRecord): Html {
  return html`<progress data-field="final" max="${Math.max(batch.accepted, 1)}" value="${batch.final}" aria-label="Payments final"></progress>
<span><span data-field="final">${count(batch.final)}</span> of <span data-field="accepted">${count(batch.accepted)}</span> final</span>`;
}

/**
 * Each total's count and money, live; a total with none is hidden until it has some, so a batch
 * shows what happened to it and not seven zeros.
 */
export function totalsList(batch: BatchRecord): Html {
  return html`<ul class="totals">${TOTALS.map((name) => {
    const { count: n, cents } = total(batch, name);
    return html`<li data-hide-zero${n === 0 ? html` hidden` : ''}><span class="status-${name}">${name.replace('_', ' ')}</span>: <span data-field="${name}">${count(n)}</span> (<span data-field="${name}Amount">${usd(cents)}</span>)</li>`;
  })}</ul>`;
}
