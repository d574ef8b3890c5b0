import { execFile } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import calculateSlot from 'cluster-key-slot';
import { Redis } from 'ioredis';
import { freePort } from './private-redis.js';
import { type RedisServer, startRedisServer } from './replicated-redis.js';

const run = promisify(execFile);

/**
 * A Redis Cluster of a test's own: three masters and a replica each, real redis-server processes on
 * free loopback ports (AOF fsynced on every write), made one cluster by `redis-cli --cluster create`.
 * For tests that kill or stall its servers; others share the suite's cluster (cluster-seeds.ts).
 */
export interface PrivateCluster {
  /** Every node's URL: the seeds a configuration names. */
  seeds: string[];
  /** The node serving the key's slot now. */
  masterOf(key: string): Promise<{ port: number; url: string }>;
  /** SIGKILL one node: its replica takes its slots over after the node timeout. */
  kill(port: number): Promise<void>;
  /** Resolves once a replica has taken over the slots `port` served and the cluster is ok. */
  waitForFailover(port: number): Promise<{ port: number; url: string }>;
  /** Starts a killed node again over its folder: it rejoins the cluster as a replica of its successor. */
  restart(port: number): Promise<void>;
  stop(): Promise<void>;
}

const NODES = 6;

export async function startRedisCluster(dir: string, options: { nodeTimeoutMs?: number } = {}): Promise<PrivateCluster> {
  const nodeTimeout = String(options.nodeTimeoutMs ?? 2000);
  const servers = new Map<number, RedisServer>();
  const start = async (port: number) => {
    servers.set(port, await startRedisServer(join(dir, String(port)), {
      port,
      // A replica promoted sooner than Redis's default, and no other replica waiting to be one.
      args: ['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-node-timeout', nodeTimeout, '--cluster-replica-validity-factor', '0'],
    }));
  };
  for (let i = 0; i < NODES; i += 1) await start(await clusterPort());
  const ports = [...servers.keys()];
  await run('redis-cli', ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '1', '--cluster-yes']);
  await until('the cluster to be ok on every node', async () => (await Promise.all(ports.map(clusterOk))).every(Boolean));
  await until('every replica to be in sync', async () => (await Promise.all(ports.map(linkUp))).every(Boolean));

  const servedBefore = new Map<number, number | undefined>();
  /** Slot ranges and the master serving each: [from, to, [host, port, …], …replicas]. */
  const slotsOf = (port: number) => ask(port, (r) => r.cluster('SLOTS'));
  const masterOf = async (key: string) => {
    const slot = calculateSlot(key);
    const live = ports.find((port) => servers.get(port)!.child.exitCode === null)!;
    const owner = (await slotsOf(live)).find(([from, to]) => slot >= from && slot <= to);
    if (owner === undefined) throw new Error(`no node serves slot ${slot}`);
    const port = owner[2]![1];
    return { port, url: `redis://127.0.0.1:${port}` };
  };

  return {
    seeds: ports.map((port) => `redis://127.0.0.1:${port}`),
    masterOf,
    async kill(port) {
      // A slot it serves, to see it served by another node once its replica takes over.
      servedBefore.set(port, (await slotsOf(port)).find(([, , master]) => master?.[1] === port)?.[0]);
      await servers.get(port)!.kill();
    },
    async waitForFailover(port) {
      const slot = servedBefore.get(port);
      if (slot === undefined) throw new Error(`${port} served no slots when it was killed: no failover to wait for`);
      const alive = () => ports.filter((p) => p !== port && servers.get(p)!.child.exitCode === null);
      let successor = port;
      await until(`a replica to take over from ${port}`, async () => {
        const owner = (await slotsOf(alive()[0]!).catch(() => [])).find(([from, to]) => slot >= from && slot <= to);
        successor = owner?.[2]?.[1] ?? port;
        return successor !== port && (await Promise.all(alive().map(clusterOk))).every(Boolean);
      });
      return { port: successor, url: `redis://127.0.0.1:${successor}` };
    },
    async restart(port) {
      await start(port);
      await until(`${port} to rejoin as a replica in sync`, () => replicaInSync(port));
    },
    async stop() {
      await Promise.all([...servers.values()].map((server) => server.kill()));
    },
  };
}

/** A port free for a node and for its cluster bus, 10000 above it. */
async function clusterPort(): Promise<number> {
  for (;;) {
    const port = await freePort();
    if (port + 10_000 < 65_536 && (await portFree(port + 10_000))) return port;
  }
}

async function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
}

async function clusterOk(port: number): Promise<boolean> {
  const info = String(await ask(port, (r) => r.cluster('INFO')).catch(() => ''));
  return info.includes('cluster_state:ok') && info.includes('cluster_slots_ok:16384');
}

/** A master, or a replica in sync with its master. */
async function linkUp(port: number): Promise<boolean> {
  const info = String(await ask(port, (r) => r.info('replication')).catch(() => ''));
  return info.includes('role:master') || info.includes('master_link_status:up');
}

async function replicaInSync(port: number): Promise<boolean> {
  const info = String(await ask(port, (r) => r.info('replication')).catch(() => ''));
  return info.includes('role:slave') && info.includes('master_link_status:up');
}

async function ask<T>(port: number, command: (redis: Redis) => Promise<T>): Promise<T> {
  const redis = new Redis(port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  redis.on('error', () => {});
  try {
    await redis.connect();
    return await command(redis);
  } finally {
    redis.disconnect();
  }
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
