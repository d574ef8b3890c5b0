import { manifestRows } from '../../src/manifest/index.js';
import { ctpayer } from '../../src/providers/ctpayer.js';
import { ctpayerManifest } from '../generate.js';
import { fmt, median, rate, type RowContext, type RowResult, scaled } from '../harness.js';
import { paymentsSandbox, workerTrial } from '../payment-trials.js';
import { collect } from '../stack.js';

// C: payments in flight in the one worker process.
const CONCURRENCY = 20;
const LATENCY_MS = 100;

/**
 * Row 4: with the provider taking 100 ms per payment, C payments in flight can at best pay
 * C / 0.1 s per second. The account's rate limit is five times that, so the shared gate is in the
 * path of every request but never the limit.
 */
export async function realisticRow(context: RowContext): Promise<RowResult> {
  const payments = scaled(4_000, context.scale);
  const rows = await collect(manifestRows(await ctpayerManifest(context.dir, payments), ctpayer as never));
  const ideal = CONCURRENCY / (LATENCY_MS / 1000);
  const sandbox = await paymentsSandbox({ faults: [{ kind: 'latency', latencyMs: LATENCY_MS }] });
  try {
    const account = { concurrency: CONCURRENCY, rateLimit: { max: 5 * ideal, perMs: 1000, marginMs: 0 } };
    const runs = [];
    for (let run = 0; run < context.runs; run += 1) runs.push(await workerTrial({ sandbox, dir: context.dir, redisUrl: context.redisUrl, account, rows }));
    const projectRate = median(runs.map(rate));
    const ratio = projectRate / ideal;
    return {
      row: `4. Execute ${fmt(payments)} payments, ${LATENCY_MS} ms provider latency, C = ${CONCURRENCY}`,
      project: `${fmt(projectRate, 1)} payments/s, ${fmt(median(runs.map((m) => m.cpuMs / m.items)), 3)} ms CPU/payment`,
      baseline: `ideal C / ${LATENCY_MS / 1000} s = ${fmt(ideal)} payments/s`,
      ratio,
      goal: 'ratio ≥ 0.9',
      met: ratio >= 0.9,
      notes: [`rate limit ${fmt(5 * ideal)}/s (five times the ideal), through the shared gate in Redis; latency injected by the sandbox on every load`],
    };
  } finally {
    await sandbox.close();
  }
}
