import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { SharedSession } from '../providers/types.js';

const LOCK_MS = 15_000;
const POLL_MS = 50;

// Deletes the lock only if this process still holds it.
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;

/**
 * A session value (e.g. ClientPay's accessId) shared by every worker process of an account. Renewal
 * takes a Redis lock, so when many jobs in many processes find the session expired at once, exactly
 * one of them asks the provider for a new one and the rest use what it stored.
 */
export function redisSession(redis: Redis, key: string): SharedSession {
  const lockKey = `${key}:lock`;
  return {
    get: async () => (await redis.get(key)) ?? undefined,
    async renew(stale, obtain) {
      const deadline = Date.now() + 2 * LOCK_MS;
      for (;;) {
        const current = (await redis.get(key)) ?? undefined;
        if (current !== undefined && current !== stale) return current;
        const token = randomBytes(8).toString('hex');
        if (await redis.set(lockKey, token, 'PX', LOCK_MS, 'NX')) {
          try {
            const now = (await redis.get(key)) ?? undefined;
            if (now !== undefined && now !== stale) return now;
            const fresh = await obtain();
            await redis.set(key, fresh);
            return fresh;
          } finally {
            await redis.eval(RELEASE, 1, lockKey, token);
          }
        }
        if (Date.now() > deadline) throw new Error(`gave up waiting for another process to renew the session at ${key}`);
        await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      }
    },
  };
}
