import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { deleteKeys } from '../../src/queue/cleanup.js';
import { connectRedis } from '../../src/redis/connection.js';
import { RedisKeys } from '../../src/redis/keys.js';

/** The real Redis under a key prefix of this test file's own. */
export function testRedis(): { redis: Redis; prefix: string; keys: RedisKeys; cleanup(): Promise<void> } {
  const redis = connectRedis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
  const prefix = `t-${randomBytes(4).toString('hex')}`;
  return {
    redis,
    prefix,
    keys: new RedisKeys(prefix),
    cleanup: async () => {
      await deleteKeys(redis, prefix);
      await redis.quit();
    },
  };
}
