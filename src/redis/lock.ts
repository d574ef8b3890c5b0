import { randomBytes } from 'node:crypto';
import type { RedisClient } from './connection.js';
import { scripted } from '../redis/scripts.js';

export interface RedisLock {
  /** Extends the lock; false when it was lost (expired and taken by another holder). */
  renew(): Promise<boolean>;
  release(): Promise<void>;
}

/**
 * A lock one process at a time holds, that expires by itself if its holder dies. Renewed and
 * released only while this holder still holds it (redis/lua/renewLock.lua, releaseLock.lua).
 */
export async function tryLock(redis: RedisClient, key: string, ttlMs: number): Promise<RedisLock | undefined> {
  const token = randomBytes(8).toString('hex');
  if (!(await redis.set(key, token, 'PX', ttlMs, 'NX'))) return undefined;
  const scripts = scripted(redis);
  return {
    renew: async () => (await scripts.renewLock(key, token, ttlMs)) === 1,
    release: async () => {
      await scripts.releaseLock(key, token);
    },
  };
}
