import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { PACKAGE_ROOT } from '../src/package-root.js';

const run = promisify(execFile);

/**
 * Redis servers a row starts for itself and shuts down after: `target` is what a configuration
 * names; `pids` are the servers' processes on this machine (for CPU caps, bench/cpu-cap.ts), or
 * undefined when they are not (BENCH_CLUSTER given).
 */
export interface BenchRedis {
  target: { url: string } | { cluster: string[] };
  pids: number[] | undefined;
  stop(): Promise<void>;
}

/**
 * The Redis Cluster a row measures on: BENCH_CLUSTER's seed nodes (comma-separated) when given,
 * else one started for the row by .ci/start-cluster, the script CI starts the tests' cluster with
 * (three masters, three replicas, AOF fsynced on every write, on this machine).
 */
export async function benchCluster(dir: string): Promise<BenchRedis> {
  const given = process.env.BENCH_CLUSTER?.split(',').filter((seed) => seed !== '');
  if (given !== undefined && given.length > 0) return { target: { cluster: given }, pids: undefined, stop: async () => {} };
  const folder = await mkdtemp(join(dir, 'cluster-'));
  const { stdout } = await run(join(PACKAGE_ROOT, '.ci', 'start-cluster'), [folder]);
  const seeds = stdout.trim().split(',');
  return { target: { cluster: seeds }, pids: await localPids(seeds), stop: () => shutDown(seeds, folder) };
}

/**
 * One Redis server started for the row, set as .ci/start-cluster sets each cluster node (AOF
 * fsynced on every write, no snapshots, noeviction), so the two sides differ only in being one
 * server or a cluster.
 */
export async function benchRedisServer(dir: string): Promise<BenchRedis> {
  const folder = await mkdtemp(join(dir, 'redis-'));
  const port = await freePort();
  await run('redis-server', [
    '--daemonize', 'yes', '--bind', '127.0.0.1', '--port', String(port), '--dir', folder, '--logfile', join(folder, 'redis.log'),
    '--appendonly', 'yes', '--appendfsync', 'always', '--save', '', '--maxmemory-policy', 'noeviction',
  ]);
  const url = `redis://127.0.0.1:${port}`;
  for (let i = 0; !(await answers(url)); i += 1) {
    if (i > 100) throw new Error(`redis-server did not start on port ${port}: ${await readFile(join(folder, 'redis.log'), 'utf8').catch(() => '')}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { target: { url }, pids: await localPids([url]), stop: () => shutDown([url], folder) };
}

async function freePort(): Promise<number> {
  const probe = createServer().listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const { port } = probe.address() as { port: number };
  probe.close();
  return port;
}

async function answers(url: string): Promise<boolean> {
  const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  probe.on('error', () => {});
  const up = await probe.connect().then(() => probe.ping()).then(() => true, () => false);
  probe.disconnect();
  return up;
}

/** Each server's process id (INFO server), checked to be a redis-server of this machine. */
async function localPids(urls: string[]): Promise<number[]> {
  return Promise.all(urls.map(async (url) => {
    const node = new Redis(url, { maxRetriesPerRequest: 0 });
    try {
      const pid = Number(/process_id:(\d+)/.exec(await node.info('server'))?.[1]);
      const name = await readFile(`/proc/${pid}/comm`, 'utf8').catch(() => '');
      if (name.trim() !== 'redis-server') throw new Error(`${url} is not a redis-server process of this machine`);
      return pid;
    } finally {
      node.disconnect();
    }
  }));
}

async function shutDown(urls: string[], folder: string): Promise<void> {
  await Promise.all(urls.map(async (url) => {
    const node = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    node.on('error', () => {});
    await node.connect().then(() => node.shutdown('NOSAVE')).catch(() => {});
    node.disconnect();
  }));
  await rm(folder, { recursive: true, force: true });
}
