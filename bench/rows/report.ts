import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load.js';
import { openContext } from '../../src/context.js';
import { deleteKeys } from '../../src/queue/cleanup.js';
import { ctpayerManifest } from '../generate.js';
import { alternate, fmt, median, rate, type RowContext, type RowResult, scaled, trial } from '../harness.js';
import { settledBatch } from '../settled-batch.js';
import { newPrefix, writeBenchConfig } from '../stack.js';

/**
 * Row 6: the reconciliation report of a settled 100,000-row batch, against the bare libraries doing
 * the same I/O (pipelined HGETALL of the same records, csv-stringify to a file). The batch is
 * recorded once, in this process, so that neither side's peak memory includes making it; its keys
 * are removed afterwards.
 */
export async function reportRow(context: RowContext): Promise<RowResult> {
  const rows = scaled(100_000, context.scale);
  const file = await ctpayerManifest(context.dir, rows);
  const prefix = newPrefix();
  const configFile = await writeBenchConfig(context.dir, { prefix, redisUrl: context.redisUrl, baseUrl: 'http://127.0.0.1:9' });
  const out = join(context.dir, prefix);
  const stipend = await openContext(await loadConfig({ path: configFile }));
  try {
    const batchId = await settledBatch(stipend, stipend.config.accounts[0]!, { path: file, rows });
    const args = { configFile, batchId, out };
    const runs = await alternate(context.runs, { project: () => trial('report', args), baseline: () => trial('report-baseline', args) });
    const seconds = median(runs.project.map((m) => m.seconds));
    const baselineSeconds = median(runs.baseline.map((m) => m.seconds));
    const peak = median(runs.project.map((m) => m.peakRssMb));
    const baselinePeak = median(runs.baseline.map((m) => m.peakRssMb));
    const ratio = baselineSeconds / seconds;
    return {
      row: `6. Report ${fmt(rows)} rows`,
      project: `${fmt(seconds, 2)} s (${fmt(median(runs.project.map(rate)))} rows/s), peak ${fmt(peak)} MB`,
      baseline: `HGETALL + csv-stringify ${fmt(baselineSeconds, 2)} s, peak ${fmt(baselinePeak)} MB`,
      ratio,
      goal: 'ratio ≥ 0.5; peak ≤ 1.2× the baseline\'s (both stream)',
      met: ratio >= 0.5 && peak <= 1.2 * baselinePeak,
      notes: [`ratio: baseline time over project time; CPU ${fmt(median(runs.project.map((m) => m.cpuMs)))} ms against ${fmt(median(runs.baseline.map((m) => m.cpuMs)))} ms`],
    };
  } finally {
    await deleteKeys(stipend.redis, prefix);
    await stipend.close();
    await rm(configFile);
    await rm(out, { recursive: true, force: true });
  }
}
