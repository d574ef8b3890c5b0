import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { connectRedis, describeTarget, type RedisTarget } from '../src/redis/connection.js';
import { readRedisSettings } from '../src/sending/durability.js';
import { startRedisCluster } from './helpers/redis-cluster.js';

/**
 * The tests share one Redis (REDIS_URL, else 127.0.0.1:6379) and one Redis Cluster (the seed nodes
 * in STIPEND_TEST_CLUSTER, as .ci/run starts one; else a cluster of three masters and three
 * replicas started here for the run), and assert that nothing is paid twice: on a Redis that can
 * lose an acknowledged write that would be luck, not proof. Either is refused, in one line that says
 * how to fix it, when it could. A single Redis that does not answer is left to the tests to report.
 */
export default async function sharedRedis(project: TestProject): Promise<() => Promise<void>> {
  await refuseUnsafe({ redisUrl: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' }, 'run redis-cli config set appendonly yes, config set appendfsync always, config set no-appendfsync-on-rewrite no, config set maxmemory-policy noeviction (or docker compose up -d redis)');
  const given = process.env.STIPEND_TEST_CLUSTER?.split(',').filter((seed) => seed !== '');
  if (given !== undefined && given.length > 0) {
    await refuseUnsafe({ redisUrl: '', redisCluster: given }, 'start every node with --appendonly yes --appendfsync always --maxmemory-policy noeviction (as .ci/start-cluster does)');
    project.provide('redisCluster', given);
    return async () => {};
  }
  const dir = await mkdtemp(join(tmpdir(), 'stipend-test-cluster-'));
  const cluster = await startRedisCluster(dir);
  project.provide('redisCluster', cluster.seeds);
  return async () => {
    await cluster.stop();
    await rm(dir, { recursive: true, force: true });
  };
}

async function refuseUnsafe(target: RedisTarget, fix: string): Promise<void> {
  const redis = connectRedis(target, { lazyConnect: true, connectTimeout: 2000, maxRetriesPerRequest: 0, retryStrategy: () => null });
  try {
    if (!(await redis.connect().then(() => true, () => false))) return;
    const s = await readRedisSettings(redis, describeTarget(target), undefined);
    if (s.appendonly && s.appendfsync === 'always' && !s.noFsyncOnRewrite && s.maxmemoryPolicy === 'noeviction') return;
    // Printed and exited on, rather than thrown: vitest would bury a thrown error under unrelated lines.
    process.stderr.write(
      `tests refused: the shared Redis at ${describeTarget(target)} can lose acknowledged writes (appendonly ${s.appendonly ? 'yes' : 'no'}, appendfsync ${s.appendfsync}, no-appendfsync-on-rewrite ${s.noFsyncOnRewrite ? 'yes' : 'no'}, maxmemory-policy ${s.maxmemoryPolicy}): ${fix}\n`,
    );
    process.exit(1);
  } finally {
    redis.disconnect();
  }
}

declare module 'vitest' {
  export interface ProvidedContext {
    /** The shared Redis Cluster's seed nodes (test/helpers/cluster-seeds.ts). */
    redisCluster: string[];
  }
}
