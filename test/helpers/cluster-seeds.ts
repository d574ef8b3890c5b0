import { inject } from 'vitest';

/**
 * The seed nodes of the Redis Cluster the suite shares (test/global-setup.ts): each test file keeps
 * to a key prefix of its own there, as on the shared single Redis. A test that kills or stalls
 * servers starts a cluster of its own (redis-cluster.ts).
 */
export function clusterSeeds(): string[] {
  return inject('redisCluster');
}
