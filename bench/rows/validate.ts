import { ctpayerManifest } from '../generate.js';
import { alternate, fmt, median, rate, type RowContext, type RowResult, scaled, trial } from '../harness.js';

/**
 * Row 1: rows per second through parse + validation against bare csv-parse of the same file, and
 * peak memory at 1M rows against 100k rows (memory must stay flat as the file grows).
 */
export async function validateRow(context: RowContext): Promise<RowResult> {
  const large = scaled(1_000_000, context.scale);
  const small = scaled(100_000, context.scale);
  const largeFile = await ctpayerManifest(context.dir, large);
  const smallFile = await ctpayerManifest(context.dir, small);

  const big = await alternate(context.runs, { project: () => trial('validate', { file: largeFile, rows: large }), baseline: () => trial('csv-parse', { file: largeFile }) });
  const smallRuns = await alternate(context.runs, { project: () => trial('validate', { file: smallFile, rows: small }), baseline: () => trial('csv-parse', { file: smallFile }) });

  const projectRate = median(big.project.map(rate));
  const baselineRate = median(big.baseline.map(rate));
  const ratio = projectRate / baselineRate;
  const peakLarge = median(big.project.map((m) => m.peakRssMb));
  const peakSmall = median(smallRuns.project.map((m) => m.peakRssMb));
  const growth = peakLarge / peakSmall;
  return {
    row: `1. Validate ${fmt(large)} rows`,
    project: `${fmt(projectRate)} rows/s, peak ${fmt(peakLarge)} MB (${fmt(peakSmall)} MB at ${fmt(small)})`,
    baseline: `csv-parse ${fmt(baselineRate)} rows/s, peak ${fmt(median(big.baseline.map((m) => m.peakRssMb)))} MB`,
    ratio,
    goal: 'ratio ≥ 0.5; peak ≤ 1.5× the 100k peak and < 200 MB',
    met: ratio >= 0.5 && growth <= 1.5 && peakLarge < 200,
    notes: [`memory ${fmt(growth, 2)}× from ${fmt(small)} to ${fmt(large)} rows`],
  };
}
