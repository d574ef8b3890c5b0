import { type ZodError } from 'zod';
import { loadConfig } from '../config/load.js';
import { openContext } from '../context.js';
import { UsageError } from '../errors.js';
import { refuseWritingIntoInbox } from '../ingest/inbox-out.js';
import { formatUsd } from '../money.js';
import { exportOptions, writeFinanceExport } from '../reports/finance-export.js';
import { taxExportOptions, thresholdFor, writeTaxExport } from '../reports/tax-export.js';
import { plural } from '../readable-numbers.js';

/** `stipend export`: payments settled in a period, across batches, from the ledger, as CSV. */
export async function exportCommand(options: { from?: string; to?: string; groupBy?: string; out?: string; withAudit?: boolean; config?: string }): Promise<number> {
  if (options.from === undefined || options.to === undefined) throw new UsageError('export needs --from and --to (days, e.g. --from 2026-11-01 --to 2026-11-30), or use `stipend export tax --year <yyyy>`');
  const config = await loadConfig({ path: options.config });
  const parsed = exportOptions.safeParse({ ...options, out: options.out ?? `${config.reportsDir}/export-${options.from}-to-${options.to}.csv` });
  if (!parsed.success) throw optionError(parsed.error);
  if (parsed.data.from > parsed.data.to) throw new UsageError('--from must not be after --to');
  await refuseWritingIntoInbox(parsed.data.out, config);
  const context = await openContext(config);
  try {
    const { rowsFile, totalsFile, totals, audit } = await writeFinanceExport(context, parsed.data);
    for (const t of totals) process.stdout.write(`${t.group || '(none)'}\t${t.status}\t${t.payments}\t${formatUsd(t.cents)}\n`);
    if (totals.length === 0) process.stdout.write(`no payments settled from ${parsed.data.from} to ${parsed.data.to}\n`);
    process.stdout.write(`payments: ${rowsFile}\ntotals: ${totalsFile}\n`);
    if (audit) process.stdout.write(`audit: ${audit.file} (${plural(audit.entries, 'decision')})\n`);
    return 0;
  } finally {
    await context.close();
  }
}

/** `stipend export tax`: the year per participant, flagged at the configured threshold. */
export async function taxExportCommand(options: { year: string; out?: string; config?: string }): Promise<number> {
  const config = await loadConfig({ path: options.config });
  const parsed = taxExportOptions.safeParse({ year: options.year, out: options.out ?? `${config.reportsDir}/tax-${options.year}.csv` });
  if (!parsed.success) throw optionError(parsed.error);
  thresholdFor(config, parsed.data.year); // a year with no threshold is refused before Redis is read
  await refuseWritingIntoInbox(parsed.data.out, config);
  const context = await openContext(config);
  try {
    const { file, year, thresholdCents, participants } = await writeTaxExport(context, { year: options.year, out: parsed.data.out });
    const reportable = participants.filter((p) => p.reportable);
    const unmatched = participants.filter((p) => p.identifiedBy === 'payee').length;
    process.stdout.write(`${year}: ${participants.length} participants paid; ${reportable.length} at or above ${formatUsd(thresholdCents)} in taxable payments\n`);
    for (const p of reportable) process.stdout.write(`${p.participant}\t${formatUsd(p.taxableCents)}\n`);
    if (unmatched > 0) process.stdout.write(`note: ${unmatched} rows have no participant_id in their manifests and are listed by payee; the same person paid through two providers may appear twice\n`);
    process.stdout.write(`participants: ${file}\n`);
    return 0;
  } finally {
    await context.close();
  }
}

function optionError(error: ZodError): UsageError {
  const issue = error.issues[0]!;
  return new UsageError(`--${String(issue.path[0]).replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}: ${issue.message}`);
}
