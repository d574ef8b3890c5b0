import { join } from 'node:path';
import type { ArchiveOutcome } from '../archive/archive-batch.js';
import { archiveOlderThan, forgetExpiredHolders } from '../archive/archive-old.js';
import { loadConfig } from '../config/load.js';
import { openContext } from '../context.js';
import { UsageError } from '../errors.js';
import { plural } from '../readable-numbers.js';

/**
 * `stipend archive [--older-than <days>]`: moves every settled batch submitted more than that many
 * days ago (default: archive.olderThanDays) out of Redis into archive.dir, one line per batch, and
 * says which stay and why. Exit 0 even when some stay: they are archived once a person settled them.
 */
export async function archiveCommand(options: { olderThan?: string; config?: string }): Promise<number> {
  const config = await loadConfig({ path: options.config });
  const olderThanMs = options.olderThan === undefined ? config.archive.olderThanMs : daysInMs(options.olderThan);
  const context = await openContext(config);
  try {
    const write = (text: string) => void process.stdout.write(text);
    const outcomes = await archiveOlderThan(context, olderThanMs, (outcome) => write(`${describe(outcome, config.archive.dir)}\n`));
    const archived = outcomes.filter((outcome) => outcome.archived);
    const payments = archived.reduce((sum, outcome) => sum + (outcome.archived ? outcome.payments : 0), 0);
    write(`${plural(archived.length, 'batch', 'batches')} archived (${plural(payments, 'payment')}); ${outcomes.length - archived.length} stay in Redis\n`);
    const forgotten = await forgetExpiredHolders(context);
    if (forgotten > 0) write(`${plural(forgotten, 'archived payment')} past rememberPaymentsDays forgotten (a later manifest may pay them again)\n`);
    return 0;
  } finally {
    await context.close();
  }
}

function describe(outcome: ArchiveOutcome, dir: string): string {
  if (!outcome.archived) return `${outcome.batchId}\tstays: ${outcome.reason}`;
  return `${outcome.batchId}\tarchived: ${plural(outcome.payments, 'payment')}, ${outcome.compactHolders} still held against a second payment; ${join(dir, outcome.folder)}`;
}

function daysInMs(days: string): number {
  if (!/^\d+(\.\d+)?$/.test(days)) throw new UsageError('--older-than: a number of days, e.g. 90 (0 archives every settled batch)');
  return Math.round(Number(days) * 86_400_000);
}
