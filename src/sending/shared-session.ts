import type { RedisClient } from '../redis/connection.js';
import type { SharedSession } from '../providers/types.js';
import { tryLock } from '../redis/lock.js';
import type { SessionSeal } from './session-seal.js';

const LOCK_MS = 15_000;
const POLL_MS = 50;

/**
 * A session value (e.g. ClientPay's accessId) shared by every worker process of an account. Renewal
 * takes a Redis lock, so when many jobs in many processes find the session expired at once, exactly
 * one of them asks the provider for a new one and the rest use what it stored. The value is kept
 * sealed (session-seal.ts); one that does not open counts as none, and is renewed.
 */
export function redisSession(redis: RedisClient, key: string, sealed: SessionSeal): SharedSession {
  const lockKey = `${key}:lock`;
  const read = async () => {
    const stored = await redis.get(key);
    return stored === null ? undefined : sealed.open(stored);
  };
  return {
    get: read,
    async renew(stale, obtain) {
      const deadline = Date.now() + 2 * LOCK_MS;
      for (;;) {
        const current = await read();
        if (current !== undefined && current !== stale) return current;
        const lock = await tryLock(redis, lockKey, LOCK_MS);
        if (lock) {
          try {
            const now = await read();
            if (now !== undefined && now !== stale) return now;
            const fresh = await obtain();
            await redis.set(key, sealed.seal(fresh));
            return fresh;
          } finally {
            await lock.release();
          }
        }
        if (Date.now() > deadline) throw new Error(`gave up waiting for another process to renew the session at ${key}`);
        await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      }
    },
  };
}
