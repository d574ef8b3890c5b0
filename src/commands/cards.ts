import { basename } from 'node:path';
import { assignCards } from '../cards/assign.js';
import { cancelCard } from '../cards/cancel.js';
import { findAccount, loadConfig } from '../config/load.js';
import { openContext } from '../context.js';
import { refuseWritingIntoInbox } from '../ingest/inbox-out.js';
import { formatProblem } from '../manifest/index.js';
import { formatDollars } from '../money.js';

/** `stipend cards assign`: exit 0 every card is the participant's, 1 an invalid manifest or a card that is not. */
export async function cardsAssignCommand(file: string, options: { account?: string; out?: string; config?: string }): Promise<number> {
  const config = await loadConfig({ path: options.config });
  const account = findAccount(config, 'ctpayer', options.account);
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const out = options.out ?? `${config.reportsDir}/cards-assign-${basename(file, '.csv')}-${stamp}.csv`;
  await refuseWritingIntoInbox(out, config);
  const context = await openContext(config);
  try {
    const result = await assignCards(context, account, file, { out });
    if (!result.valid) {
      for (const problem of result.problems) process.stdout.write(`${formatProblem(problem)}\n`);
      process.stdout.write(`invalid: no card was assigned; fix the problems above and run it again\n`);
      return 1;
    }
    const counts = new Map<string, number>();
    for (const o of result.outcomes) counts.set(o.result, (counts.get(o.result) ?? 0) + 1);
    for (const o of result.outcomes.filter((o) => o.result === 'failed' || o.result === 'unknown')) {
      process.stdout.write(`line ${o.line}, card ${o.cardId}: ${o.result}: ${o.code} ${o.message}\n`);
    }
    process.stdout.write(`${[...counts].map(([r, n]) => `${n} ${r}`).join(', ')}\nreport: ${result.reportFile}\n`);
    return counts.has('failed') || counts.has('unknown') ? 1 : 0;
  } finally {
    await context.close();
  }
}

/** `stipend cards cancel`: refusals and a card holding money end with a one-line error (exit 2). */
export async function cardsCancelCommand(cardId: string, options: { reason: string; account?: string; withBalance?: boolean; config?: string }): Promise<number> {
  const config = await loadConfig({ path: options.config });
  const account = findAccount(config, 'ctpayer', options.account);
  const context = await openContext(config);
  try {
    const done = await cancelCard(context, account, { cardId, reason: options.reason, withBalance: options.withBalance === true });
    const held = done.balanceCents > 0 ? `; it still holds $${formatDollars(done.balanceCents)}` : '';
    process.stdout.write(`card ${cardId}: ${done.result === 'canceled' ? 'canceled' : 'was already canceled'}${held}\n`);
    return 0;
  } finally {
    await context.close();
  }
}
