import { personHere } from '../audit/actor.js';
import { printRewriteNote, rewriteReport } from '../batches/report.js';
import { loadConfig } from '../config/load.js';
import { openContext } from '../context.js';
import { formatDollars } from '../money.js';
import { isFailure, type ReversalResult, reversePayments } from '../reversals/reverse.js';

export interface ReverseOptions {
  paymentId?: string[];
  all?: boolean;
  reason: string;
  /** A name shown beside the operating-system user and host who reverses (recorded in its place on the payment). */
  by?: string;
  config?: string;
}

/**
 * `stipend reverse`: one line per payment as it settles, then the total given back, then the batch's
 * report rewritten. Exit 1 if any was not reversed.
 */
export async function reverseCommand(batchId: string, options: ReverseOptions): Promise<number> {
  const by = personHere(options.by);
  const context = await openContext(await loadConfig({ path: options.config }));
  try {
    const results = await reversePayments(
      context,
      { batchId, paymentIds: options.paymentId, all: options.all, reason: options.reason },
      by,
      (result) => process.stdout.write(`${describe(batchId, result)}\n`),
    );
    const reversed = results.filter((r) => r.kind === 'reversed');
    const failed = results.filter(isFailure);
    const cents = reversed.reduce((sum, r) => sum + r.amountCents, 0);
    process.stdout.write(`batch ${batchId}: ${reversed.length} reversed ($${formatDollars(cents)})${failed.length > 0 ? `, ${failed.length} not reversed` : ''}\n`);
    // Whatever each answer was, the ledger may have recorded something the report shows (a refusal's
    // code, a stale claim turned reversal_unknown); a rewrite that changes nothing does no harm.
    if (results.length > 0) printRewriteNote(await rewriteReport(context, batchId));
    return failed.length > 0 ? 1 : 0;
  } finally {
    await context.close();
  }
}

function describe(batchId: string, result: ReversalResult): string {
  const head = `${result.paymentId} $${formatDollars(result.amountCents)}:`;
  switch (result.kind) {
    case 'reversed':
      return `${head} reversed (reference ${result.reference})`;
    case 'refused':
      return `${head} refused by the provider, nothing moved: ${result.message}`;
    case 'retry_later':
      return `${head} not reversed, the provider asked to try later: ${result.message}`;
    case 'reversal_unknown':
      return `${head} REVERSAL UNKNOWN, the money may have come back: ${result.message}; check with the provider, then stipend resolve ${batchId} ${result.paymentId} --reversed <reference> | --not-reversed --by <name>`;
    case 'not_reversible':
      return `${head} not reversed: ${result.message}`;
    case 'skipped':
      return `${head} nothing to reverse: ${result.message}`;
  }
}
