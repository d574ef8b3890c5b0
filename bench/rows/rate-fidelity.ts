import { ctpayerManifest } from '../generate.js';
import { fmt, type Measure, median, type RowContext, type RowResult, trial } from '../harness.js';

/**
 * ONTRAPORT documents 180 requests a minute; the same kind of limit, scaled to a 10 s window so that
 * a run lasts about a minute.
 */
const LIMIT = { max: 60, perMs: 10_000 };

/**
 * Row 5: one account's rate limit, paid by 1 and by 3 worker processes: requests that reached the
 * sandbox per sliding window. The baseline is the limit itself.
 */
export async function rateFidelityRow(context: RowContext): Promise<RowResult> {
  // Enough payments for some windows of steady state between the ramp-up window and the tail.
  const windows = Math.max(3, Math.round(6 * context.scale));
  const payments = LIMIT.max * windows;
  const file = await ctpayerManifest(context.dir, payments);
  const measure = async (workers: number): Promise<Measure[]> => {
    const runs: Measure[] = [];
    for (let run = 0; run < context.runs; run += 1) runs.push(await trial('rate-fidelity', { ...LIMIT, file, workers, dir: context.dir, redisUrl: context.redisUrl }));
    return runs;
  };
  const figures = [];
  for (const workers of [1, 3]) {
    const runs = await measure(workers);
    figures.push({
      workers,
      steady: median(runs.map((m) => m.extra.steady!)),
      // The worst run counts here, not the median: one window over the limit is a failure.
      busiest: Math.max(...runs.map((m) => m.extra.busiest!)),
      refused: runs.reduce((sum, m) => sum + m.extra.refused!, 0),
      closestMs: Math.min(...runs.map((m) => m.extra.closestMs!)),
    });
  }
  const ratio = Math.min(...figures.map((f) => f.steady / LIMIT.max));
  const limit = `${LIMIT.max} per ${fmt(LIMIT.perMs / 1000)} s`;
  return {
    row: `5. Rate limit ${limit}, ${fmt(payments)} payments`,
    project: figures.map((f) => `${f.workers} worker${f.workers === 1 ? '' : 's'}: steady ${fmt(f.steady, 1)}, busiest ${f.busiest}`).join('; '),
    baseline: `the limit: ${LIMIT.max} per window`,
    ratio,
    goal: `busiest ≤ ${LIMIT.max}, no 429; steady ≥ 0.98 × ${LIMIT.max}`,
    met: figures.every((f) => f.busiest <= LIMIT.max && f.refused === 0 && f.steady >= 0.98 * LIMIT.max),
    notes: [
      'ratio: the lower steady-state mean of the two, over the limit; steady state excludes the first window (ramp-up) and the last',
      ...figures.map((f) => `${f.workers} worker process${f.workers === 1 ? '' : 'es'}: ${f.refused} requests refused with 429; the closest ${LIMIT.max + 1} consecutive arrivals were ${fmt(f.closestMs)} ms apart (the window is ${fmt(LIMIT.perMs)} ms)`),
    ],
  };
}
