import { loadConfig } from '../config/load.js';
import { openContext } from '../context.js';
import { UsageError } from '../errors.js';
import { formatDollars } from '../money.js';
import { exportOptions, writeFinanceExport } from '../reports/finance-export.js';

/** `stipend export`: payments settled in a period, across batches, from the ledger, as CSV. */
export async function exportCommand(options: { from: string; to: string; groupBy?: string; out?: string; config?: string }): Promise<number> {
  const config = await loadConfig({ path: options.config });
  const parsed = exportOptions.safeParse({ ...options, out: options.out ?? `${config.reportsDir}/export-${options.from}-to-${options.to}.csv` });
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new UsageError(`--${String(issue.path[0]).replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}: ${issue.message}`);
  }
  if (parsed.data.from > parsed.data.to) throw new UsageError('--from must not be after --to');
  const context = await openContext(config);
  try {
    const { rowsFile, totalsFile, totals } = await writeFinanceExport(context, parsed.data);
    for (const t of totals) process.stdout.write(`${t.group || '(none)'}\t${t.status}\t${t.payments}\t$${formatDollars(t.cents)}\n`);
    if (totals.length === 0) process.stdout.write(`no payments settled from ${parsed.data.from} to ${parsed.data.to}\n`);
    process.stdout.write(`payments: ${rowsFile}\ntotals: ${totalsFile}\n`);
    return 0;
  } finally {
    await context.close();
  }
}
