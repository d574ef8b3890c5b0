import { Redis, type RedisOptions } from 'ioredis';
import { RedisUnavailableError } from '../errors.js';

/**
 * A Redis connection for BullMQ and the ledger. maxRetriesPerRequest: null is what BullMQ requires
 * for workers: a command waits for Redis to come back instead of failing a payment half-way.
 */
export function connectRedis(url: string, options: RedisOptions = {}): Redis {
  return quiet(new Redis(url, { maxRetriesPerRequest: null, ...options }));
}

/**
 * While Redis is away, ioredis reconnects by itself and commands wait for it; without a listener it
 * would also print every failed reconnect. Workers report connection trouble through BullMQ's
 * `error` events instead.
 */
export function quiet(redis: Redis): Redis {
  redis.on('error', () => {});
  return redis;
}

/** Fails fast, with one clear line, when nothing answers at the URL. */
export async function assertRedisReachable(url: string): Promise<void> {
  const probe = new Redis(url, { lazyConnect: true, connectTimeout: 2000, maxRetriesPerRequest: 0, retryStrategy: () => null });
  probe.on('error', () => {});
  try {
    await probe.connect();
    await probe.ping();
  } catch (error) {
    throw new RedisUnavailableError(url, { cause: error });
  } finally {
    probe.disconnect();
  }
}
