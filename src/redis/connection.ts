import { Cluster, type ClusterOptions, Redis, type RedisOptions } from 'ioredis';
import { RedisUnavailableError } from '../errors.js';
import { redactUrl } from '../redact-url.js';

/** A connection to one Redis, or to a Redis Cluster (`redis.cluster`): every module takes either. */
export type RedisClient = Redis | Cluster;

/** Where Redis is: one server's URL, or a cluster's seed nodes (a ResolvedConfig is one). */
export interface RedisTarget {
  redisUrl: string;
  /** The seed nodes' URLs (`redis://[user:password@]host:port`; `rediss://` for TLS): set, this is a cluster. */
  redisCluster?: readonly string[] | undefined;
}

/**
 * A Redis connection for BullMQ and the ledger. maxRetriesPerRequest: null is what BullMQ requires
 * for workers: a command waits for Redis to come back instead of failing a payment half-way. On a
 * cluster a command also waits out a failover (a replica taking over its master's slots).
 */
export function connectRedis(target: RedisTarget, options: RedisOptions = {}): RedisClient {
  if (target.redisCluster === undefined) return quiet(new Redis(target.redisUrl, { maxRetriesPerRequest: null, ...options }));
  // These two are the cluster client's own options (a node's would be ignored: a lazy cluster client
  // would connect at once, and a later connect() reject as "already connecting").
  const { enableOfflineQueue, lazyConnect, ...nodeOptions } = options;
  return quiet(new Cluster(target.redisCluster.map(seedNode), {
    ...clusterDefaults(target.redisCluster, { maxRetriesPerRequest: null, ...nodeOptions }),
    ...(enableOfflineQueue === undefined ? {} : { enableOfflineQueue }),
    ...(lazyConnect === undefined ? {} : { lazyConnect }),
  }));
}

/** Where a target is, as a person reads it (no password). */
export function describeTarget(target: RedisTarget): string {
  return target.redisCluster === undefined ? redactUrl(target.redisUrl) : `the cluster of ${target.redisCluster.map(redactUrl).join(', ')}`;
}

/**
 * While Redis is away, ioredis reconnects by itself and commands wait for it; without a listener it
 * would also print every failed reconnect. Workers report connection trouble through BullMQ's
 * `error` events instead.
 */
export function quiet<C extends RedisClient>(redis: C): C {
  redis.on('error', () => {});
  return redis;
}

/** Fails fast, with one clear line, when nothing answers at the target. */
export async function assertRedisReachable(target: RedisTarget): Promise<void> {
  const probeOptions: RedisOptions = { lazyConnect: true, connectTimeout: 2000, maxRetriesPerRequest: 0, retryStrategy: () => null };
  const probe: RedisClient = target.redisCluster === undefined
    ? new Redis(target.redisUrl, probeOptions)
    : new Cluster(target.redisCluster.map(seedNode), { ...clusterDefaults(target.redisCluster, probeOptions), lazyConnect: true, clusterRetryStrategy: () => null, enableOfflineQueue: false });
  probe.on('error', () => {});
  try {
    await probe.connect();
    await probe.ping();
  } catch (error) {
    throw new RedisUnavailableError(describeTarget(target), { cause: error });
  } finally {
    probe.disconnect();
  }
}

/** The servers of the target that hold data: the one server, or each master of the cluster (known once it answers). */
export async function dataNodes(redis: RedisClient): Promise<Redis[]> {
  if (!(redis instanceof Cluster)) return [redis];
  await redis.ping();
  return redis.nodes('master');
}

function seedNode(url: string): { host: string; port: number } {
  const parsed = new URL(url);
  return { host: parsed.hostname, port: Number(parsed.port || 6379) };
}

/**
 * Every node is reached as the first seed says (user, password, TLS). The waits are a failover's:
 * a master that stops answering is replaced after cluster-node-timeout, and ioredis asks again.
 */
function clusterDefaults(seeds: readonly string[], nodeOptions: RedisOptions): ClusterOptions {
  const first = new URL(seeds[0]!);
  return {
    redisOptions: {
      ...(first.username === '' ? {} : { username: decodeURIComponent(first.username) }),
      ...(first.password === '' ? {} : { password: decodeURIComponent(first.password) }),
      ...(first.protocol === 'rediss:' ? { tls: {} } : {}),
      ...nodeOptions,
    },
    retryDelayOnFailover: 300,
    retryDelayOnClusterDown: 300,
    retryDelayOnTryAgain: 300,
    maxRedirections: 64,
    slotsRefreshTimeout: 2000,
  };
}
