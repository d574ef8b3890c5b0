import { randomBytes } from 'node:crypto';
import { deleteKeys } from '../../src/queue/cleanup.js';
import { connectRedis, type RedisClient } from '../../src/redis/connection.js';
import { RedisKeys } from '../../src/redis/keys.js';

/** The real Redis under a key prefix of this test file's own; `url` for another connection to it. */
export function testRedis(): { redis: RedisClient; url: string; prefix: string; keys: RedisKeys; cleanup(): Promise<void> } {
  const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  const redis = connectRedis({ redisUrl: url });
  const prefix = `t-${randomBytes(4).toString('hex')}`;
  return {
    redis,
    url,
    prefix,
    keys: new RedisKeys(prefix),
    cleanup: async () => {
      await deleteKeys(redis, prefix);
      await redis.quit();
    },
  };
}
