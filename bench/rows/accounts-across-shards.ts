import { manifestRows } from '../../src/manifest/index.js';
import { ctpayer } from '../../src/providers/ctpayer.js';
import { benchCluster } from '../cluster.js';
import { ctpayerManifest } from '../generate.js';
import { alternate, fmt, median, rate, type RowContext, type RowResult, scaled } from '../harness.js';
import { accountsTrial, paymentsSandbox } from '../payment-trials.js';
import { collect } from '../stack.js';

const ACCOUNTS = 5;
// Payments in flight per account in the one worker process, as in row 3.
const CONCURRENCY = 50;
// Each account's limit, far above what one worker process reaches: it holds nothing back, and the
// gate still counts every request against it.
const LIMIT = { max: 2000, perMs: 1000, marginMs: 0 };

/**
 * Row 8: five CT Payer accounts, each its own sandbox with no latency and no limit, paid at once by
 * one `stipend worker` process, on a Redis Cluster (three masters, three replicas: the accounts'
 * slots spread over the masters) and on one Redis, side by side. The cluster must not be slower,
 * and no account's sandbox may see more than the account's limit in any window.
 */
export async function accountsRow(context: RowContext): Promise<RowResult> {
  const perAccount = scaled(20_000, context.scale);
  const rows = await collect(manifestRows(await ctpayerManifest(context.dir, perAccount), ctpayer as never));
  const sandboxes = await Promise.all(Array.from({ length: ACCOUNTS }, () => paymentsSandbox()));
  const cluster = await benchCluster(context.dir);
  try {
    const account = { concurrency: CONCURRENCY, rateLimit: LIMIT };
    const runs = await alternate(context.runs, {
      cluster: () => accountsTrial({ sandboxes, dir: context.dir, redis: { cluster: cluster.seeds }, account, rows }),
      single: () => accountsTrial({ sandboxes, dir: context.dir, redis: { url: context.redisUrl }, account, rows }),
    });
    const clusterRate = median(runs.cluster.map(rate));
    const singleRate = median(runs.single.map(rate));
    const busiest = Math.max(...[...runs.cluster, ...runs.single].map((m) => m.extra.busiest!));
    const ratio = clusterRate / singleRate;
    const cpuPer = (list: typeof runs.cluster) => fmt(median(list.map((m) => m.cpuMs / m.items)), 3);
    return {
      row: `8. ${ACCOUNTS} accounts × ${fmt(perAccount)} payments, unthrottled, Redis Cluster against one Redis`,
      project: `cluster ${fmt(clusterRate)} payments/s, ${cpuPer(runs.cluster)} ms worker CPU/payment; busiest account window ${busiest} of ${fmt(LIMIT.max)}`,
      baseline: `one Redis ${fmt(singleRate)} payments/s, ${cpuPer(runs.single)} ms worker CPU/payment`,
      ratio,
      goal: `ratio ≥ 1; busiest ≤ ${fmt(LIMIT.max)} per ${fmt(LIMIT.perMs)} ms`,
      met: ratio >= 1 && busiest <= LIMIT.max,
      notes: [
        `one worker process serving all ${ACCOUNTS} accounts, concurrency ${CONCURRENCY} each, on both sides; each account's rate limit ${fmt(LIMIT.max)} per ${fmt(LIMIT.perMs)} ms, counted by the account's gate in its own slot`,
        `the cluster (.ci/start-cluster, or BENCH_CLUSTER) and the one Redis run on this same machine, every node with appendfsync always; CT Payer refuses a resend itself, so no mark waits for a replica on either side`,
      ],
    };
  } finally {
    await Promise.all(sandboxes.map((sandbox) => sandbox.close()));
    await cluster.stop();
  }
}
