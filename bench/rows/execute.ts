import { cpus } from 'node:os';
import { manifestRows } from '../../src/manifest/index.js';
import { ctpayer } from '../../src/providers/ctpayer.js';
import { ctpayerManifest } from '../generate.js';
import { alternate, fmt, type Measure, median, rate, type RowContext, type RowResult, scaled } from '../harness.js';
import { bareWorkerTrial, paymentsSandbox, workerTrial } from '../payment-trials.js';
import { collect } from '../stack.js';

// Payments in flight per worker process, on both sides.
const CONCURRENCY = 50;

/**
 * Row 3: payments through a `stipend worker` process to a sandbox with no latency and no rate
 * limit, against a bare BullMQ worker running no-op jobs with the same concurrency. The account's
 * own rate limit is set far above anything reachable, so it never holds a request back.
 */
export async function executeRow(context: RowContext): Promise<RowResult> {
  const payments = scaled(20_000, context.scale);
  const rows = await collect(manifestRows(await ctpayerManifest(context.dir, payments), ctpayer as never));
  const sandbox = await paymentsSandbox();
  try {
    const account = { concurrency: CONCURRENCY, rateLimit: { max: 1_000_000, perMs: 1000, marginMs: 0 } };
    const runs = await alternate(context.runs, {
      project: () => workerTrial({ sandbox, dir: context.dir, redisUrl: context.redisUrl, account, rows }),
      baseline: () => bareWorkerTrial({ redisUrl: context.redisUrl, concurrency: CONCURRENCY, rows }),
      call: () => bareWorkerTrial({ redisUrl: context.redisUrl, concurrency: CONCURRENCY, rows, call: { sandbox, dir: context.dir, account } }),
    });
    const projectRate = median(runs.project.map(rate));
    const baselineRate = median(runs.baseline.map(rate));
    const callRate = median(runs.call.map(rate));
    const ratio = projectRate / baselineRate;
    const perItem = (list: Measure[], cpuMs: (m: Measure) => number) => fmt(median(list.map((m) => cpuMs(m) / m.items)), 3);
    const cpuPer = (list: Measure[]) => perItem(list, (m) => m.cpuMs);
    const redisPer = (list: Measure[]) => perItem(list, (m) => m.extra.redisCpuMs ?? 0);
    const sandboxPer = (list: Measure[]) => perItem(list, (m) => m.extra.sandboxCpuMs ?? 0);
    return {
      row: `3. Execute ${fmt(payments)} payments, unthrottled`,
      project: `${fmt(projectRate)} payments/s, ${cpuPer(runs.project)} ms CPU/payment`,
      baseline: `BullMQ no-op ${fmt(baselineRate)} jobs/s, ${cpuPer(runs.baseline)} ms CPU/job`,
      ratio,
      goal: 'ratio ≥ 0.4',
      met: ratio >= 0.4,
      notes: [
        `concurrency ${CONCURRENCY} in one worker process on both sides; the sandbox runs in the harness's process, so CPU time is the worker process's alone`,
        `CPU ms per payment on this ${cpus().length}-core machine: worker ${cpuPer(runs.project)}, sandbox ${sandboxPer(runs.project)}, Redis ${redisPer(runs.project)}; bare: worker ${cpuPer(runs.baseline)}, Redis ${redisPer(runs.baseline)} (Redis counts anything else it served meanwhile)`,
        `the call alone (a bare BullMQ worker whose jobs make the same CT Payer call through the adapter, with no ledger, gate or logs): ${fmt(callRate)} payments/s, ${fmt(callRate / baselineRate, 2)} of the no-op baseline; CPU ms per payment: worker ${cpuPer(runs.call)}, sandbox ${sandboxPer(runs.call)}, Redis ${redisPer(runs.call)}. The project reaches ${fmt(projectRate / callRate, 2)} of it`,
      ],
    };
  } finally {
    await sandbox.close();
  }
}
