import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { PACKAGE_ROOT } from '../src/package-root.js';

const run = promisify(execFile);

/**
 * The Redis Cluster a row measures on: BENCH_CLUSTER's seed nodes (comma-separated) when given,
 * else one started for the row by .ci/start-cluster, the script CI starts the tests' cluster with
 * (three masters, three replicas, AOF fsynced on every write, on this machine), shut down after.
 */
export async function benchCluster(dir: string): Promise<{ seeds: string[]; stop(): Promise<void> }> {
  const given = process.env.BENCH_CLUSTER?.split(',').filter((seed) => seed !== '');
  if (given !== undefined && given.length > 0) return { seeds: given, stop: async () => {} };
  const folder = await mkdtemp(join(dir, 'cluster-'));
  const { stdout } = await run(join(PACKAGE_ROOT, '.ci', 'start-cluster'), [folder]);
  const seeds = stdout.trim().split(',');
  return {
    seeds,
    async stop() {
      await Promise.all(seeds.map(async (seed) => {
        const node = new Redis(seed, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
        node.on('error', () => {});
        await node.connect().then(() => node.shutdown('NOSAVE')).catch(() => {});
        node.disconnect();
      }));
      await rm(folder, { recursive: true, force: true });
    },
  };
}
