import { manifestRows } from '../../src/manifest/index.js';
import { ctpayer } from '../../src/providers/ctpayer.js';
import { cpuCaps } from '../cpu-cap.js';
import { ctpayerManifest } from '../generate.js';
import { alternate, fmt, type Measure, median, rate, type RowContext, type RowResult, scaled } from '../harness.js';
import { accountsTrial, paymentsSandbox } from '../payment-trials.js';
import { benchCluster, benchRedisServer } from '../redis-servers.js';
import { collect } from '../stack.js';

const ACCOUNTS = 5;
// Payments in flight per account in the one worker process, as in row 3.
const CONCURRENCY = 50;
// Each account's limit, far above what one worker process reaches: it holds nothing back, and the
// gate still counts every request against it.
const LIMIT = { max: 2000, perMs: 1000, marginMs: 0 };
/**
 * Each Redis server's share of CPU on the goal's side: a seventh of a core. The cluster is for when
 * one server's capacity is the limit; on two shared cores nothing else makes it so. The caps of all
 * seven servers (the cluster's six and the one) add up to one core, so each server gets its share
 * whatever the others do, as on machines of its own, and the worker process and the sandboxes keep
 * the other core.
 */
const SERVER_CORES = 1 / 7;

/**
 * Row 8: five CT Payer accounts, each its own sandbox with no latency and no limit, paid at once by
 * one `stipend worker` process, on a Redis Cluster (three masters, three replicas: the accounts'
 * slots spread over the masters) and on one Redis server set the same way, side by side.
 *
 * The goal's comparison gives every Redis server the same capacity, as if each ran on a machine of
 * its own: a CPU cap of SERVER_CORES each (a cgroup). The cluster must not be slower, and no
 * account's sandbox may see more than the account's limit in any window. The same runs without caps,
 * everything sharing this machine's cores, are reported beside it with the CPU each side spends.
 */
export async function accountsRow(context: RowContext): Promise<RowResult> {
  const perAccount = scaled(20_000, context.scale);
  const rows = await collect(manifestRows(await ctpayerManifest(context.dir, perAccount), ctpayer as never));
  const sandboxes = await Promise.all(Array.from({ length: ACCOUNTS }, () => paymentsSandbox()));
  const cluster = await benchCluster(context.dir);
  const single = await benchRedisServer(context.dir);
  const caps = cluster.pids === undefined
    ? { unavailable: 'BENCH_CLUSTER names servers this process cannot cap' }
    : await cpuCaps([...cluster.pids, ...single.pids!], 'stipend-bench-redis');
  try {
    const account = { concurrency: CONCURRENCY, rateLimit: LIMIT };
    const on = (side: typeof cluster, cores: number | undefined) => async () => {
      if (!('unavailable' in caps)) await caps.set(cores);
      return accountsTrial({ sandboxes, dir: context.dir, redis: side.target, account, rows });
    };
    const capped = 'unavailable' in caps ? undefined : await alternate(context.runs, { cluster: on(cluster, SERVER_CORES), single: on(single, SERVER_CORES) });
    const shared = await alternate(context.runs, { cluster: on(cluster, undefined), single: on(single, undefined) });
    const measured = capped ?? shared;
    const ratio = median(measured.cluster.map(rate)) / median(measured.single.map(rate));
    const busiest = Math.max(...[...(capped ? [...capped.cluster, ...capped.single] : []), ...shared.cluster, ...shared.single].map((m) => m.extra.busiest!));
    const sharedRatio = median(shared.cluster.map(rate)) / median(shared.single.map(rate));
    const how = capped ? `each Redis server capped at ${fmt(SERVER_CORES, 2)} core` : 'uncapped (caps unavailable)';
    return {
      row: `8. ${ACCOUNTS} accounts × ${fmt(perAccount)} payments, unthrottled, Redis Cluster against one Redis, ${how}`,
      project: `cluster ${fmt(median(measured.cluster.map(rate)))} payments/s; busiest account window ${fmt(busiest)} of ${fmt(LIMIT.max)}`,
      baseline: `one Redis ${fmt(median(measured.single.map(rate)))} payments/s`,
      ratio,
      goal: `ratio ≥ 1 with each server capped alike; busiest ≤ ${fmt(LIMIT.max)} per ${fmt(LIMIT.perMs)} ms`,
      met: capped !== undefined && ratio >= 1 && busiest <= LIMIT.max,
      notes: [
        `one worker process serving all ${ACCOUNTS} accounts, concurrency ${CONCURRENCY} each, on both sides; each account's rate limit ${fmt(LIMIT.max)} per ${fmt(LIMIT.perMs)} ms, counted by the account's gate in its own slot`,
        `the cluster (.ci/start-cluster: three masters, three replicas) and the one server are started for the row on this machine, every server with appendfsync always; accounts a1 to a5 hash to the masters 3, 1 and 1; CT Payer refuses a resend itself, so no mark waits for a replica on either side`,
        ...('unavailable' in caps ? [`no caps: ${caps.unavailable}; the goal is judged only with the servers capped alike`] : [
          `capped: each of the seven Redis servers in a cgroup of its own limited to ${fmt(SERVER_CORES, 2)} core (cgroup CPU bandwidth), together one core, so that each gets its share as on a machine of its own and the worker keeps the other core; one server then reaches its capacity before the worker does, which is what a cluster is for`,
          `capped, per payment: ${cpuSplit(capped!.cluster)} on the cluster; ${cpuSplit(capped!.single)} on one Redis`,
        ]),
        `uncapped, everything sharing this machine's cores: cluster ${fmt(median(shared.cluster.map(rate)))} payments/s against one Redis ${fmt(median(shared.single.map(rate)))} (ratio ${fmt(sharedRatio, 2)}); per payment: ${cpuSplit(shared.cluster)} on the cluster; ${cpuSplit(shared.single)} on one Redis`,
      ],
    };
  } finally {
    if (!('unavailable' in caps)) await caps.release();
    await Promise.all(sandboxes.map((sandbox) => sandbox.close()));
    await cluster.stop();
    await single.stop();
  }
}

/** The worker's and the Redis servers' CPU per payment, medians over the runs. */
function cpuSplit(runs: Measure[]): string {
  const per = (ms: (m: Measure) => number) => fmt(median(runs.map((m) => ms(m) / m.items)), 3);
  return `worker ${per((m) => m.cpuMs)} ms, Redis ${per((m) => m.extra.redisCpuMs!)} ms CPU`;
}
