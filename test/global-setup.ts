import { Redis } from 'ioredis';
import { readRedisSettings } from '../src/sending/durability.js';
import { redactUrl } from '../src/redact-url.js';

/**
 * The tests share one Redis (REDIS_URL, else 127.0.0.1:6379) and assert that nothing is paid twice:
 * on a Redis that can lose an acknowledged write that would be luck, not proof. Fail fast, in one
 * line that says how to fix it. A Redis that does not answer is left to the tests to report.
 */
export default async function checkSharedRedis(): Promise<void> {
  const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  const redis = new Redis(url, { lazyConnect: true, connectTimeout: 2000, maxRetriesPerRequest: 0, retryStrategy: () => null });
  redis.on('error', () => {});
  try {
    if (!(await redis.connect().then(() => true, () => false))) return;
    const s = await readRedisSettings(redis, url, undefined);
    if (s.appendonly && s.appendfsync === 'always' && !s.noFsyncOnRewrite && s.maxmemoryPolicy === 'noeviction') return;
    // Printed and exited on, rather than thrown: vitest would bury a thrown error under unrelated lines.
    process.stderr.write(
      `tests refused: the shared Redis at ${redactUrl(url)} can lose acknowledged writes (appendonly ${s.appendonly ? 'yes' : 'no'}, appendfsync ${s.appendfsync}, no-appendfsync-on-rewrite ${s.noFsyncOnRewrite ? 'yes' : 'no'}, maxmemory-policy ${s.maxmemoryPolicy}): run redis-cli config set appendonly yes, config set appendfsync always, config set no-appendfsync-on-rewrite no, config set maxmemory-policy noeviction (or docker compose up -d redis)\n`,
    );
    process.exit(1);
  } finally {
    redis.disconnect();
  }
}
