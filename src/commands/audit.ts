import { z } from 'zod';
import { describeActor } from '../audit/actor.js';
import { AUDIT_COLUMNS, type AuditEntry } from '../audit/audit-entry.js';
import { auditEntries, periodOfDays } from '../audit/audit-trail.js';
import { loadConfig } from '../config/load.js';
import { openContext } from '../context.js';
import { UsageError } from '../errors.js';
import { calendarDay } from '../reports/calendar-day.js';

const auditOptions = z.object({
  batch: z.string().min(1).optional(),
  from: calendarDay.optional(),
  to: calendarDay.optional(),
});

/**
 * `stipend audit`: the audit trail (audit/audit-entry.ts), oldest first: every decision, who made
 * it (identity, and the name they gave), when (Redis's clock), from which host. --batch keeps one
 * batch's; --from / --to a period of days (UTC, both included). `--json`: an array of objects,
 * written an entry at a time.
 */
export async function auditCommand(options: { batch?: string; from?: string; to?: string; json?: boolean; config?: string }): Promise<number> {
  const parsed = auditOptions.safeParse(options);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new UsageError(`--${String(issue.path[0])}: ${issue.message}`);
  }
  const { batch, from, to } = parsed.data;
  if (from !== undefined && to !== undefined && from > to) throw new UsageError('--from must not be after --to');
  const context = await openContext(await loadConfig({ path: options.config }));
  try {
    // A mistyped batch id says so, rather than an empty trail.
    if (batch !== undefined) await context.batches.get(batch);
    const entries = auditEntries(context, { ...(batch === undefined ? {} : { batchId: batch }), ...periodOfDays(from, to) });
    const write = (text: string) => void process.stdout.write(text);
    if (options.json) {
      let first = true;
      write('[');
      for await (const entry of entries) {
        write(`${first ? '' : ','}\n  ${JSON.stringify(asJson(entry))}`);
        first = false;
      }
      write(first ? ']\n' : '\n]\n');
      return 0;
    }
    let none = true;
    for await (const entry of entries) {
      write(`${describe(entry)}\n`);
      none = false;
    }
    if (none) write('no decisions recorded for that\n');
    return 0;
  } finally {
    await context.close();
  }
}

/** An entry with every column, in AUDIT_COLUMNS's order (absent ones null), for programs. */
function asJson(entry: AuditEntry): Record<string, string | null> {
  return Object.fromEntries(AUDIT_COLUMNS.map((column) => [column, entry[column] ?? null]));
}

/** `2026-11-02T09:14:03.120Z approved batch … by Bob (bob@ops-1) on ops-1: …` */
function describe(entry: AuditEntry): string {
  const payment = entry.payment_id === undefined ? '' : ` payment ${entry.payment_id}`;
  const details = entry.details === undefined ? '' : `: ${entry.details}`;
  const batch = entry.batch_id === '' ? '' : ` batch ${entry.batch_id}`;
  return `${entry.at} ${entry.event}${batch}${payment} by ${describeActor(entry.identity, entry.display_name)} on ${entry.host}${details}`;
}
