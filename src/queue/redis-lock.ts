import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';

// Renew and release only while this holder still holds the lock.
const RENEW = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0`;
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;

export interface RedisLock {
  /** Extends the lock; false when it was lost (expired and taken by another holder). */
  renew(): Promise<boolean>;
  release(): Promise<void>;
}

/** A lock one process at a time holds, that expires by itself if its holder dies. */
export async function tryLock(redis: Redis, key: string, ttlMs: number): Promise<RedisLock | undefined> {
  const token = randomBytes(8).toString('hex');
  if (!(await redis.set(key, token, 'PX', ttlMs, 'NX'))) return undefined;
  return {
    renew: async () => (await redis.eval(RENEW, 1, key, token, ttlMs)) === 1,
    release: async () => {
      await redis.eval(RELEASE, 1, key, token);
    },
  };
}
