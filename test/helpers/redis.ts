import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ArchiveIndex } from '../../src/ledger/archive-index.js';
import { ArchiveReader } from '../../src/ledger/archive-reader.js';
import { deleteKeys } from '../../src/queue/cleanup.js';
import { connectRedis, type RedisClient } from '../../src/redis/connection.js';
import { RedisKeys } from '../../src/redis/keys.js';

/** The real Redis under a key prefix of this test file's own; `url` for another connection to it. */
export function testRedis(): { redis: RedisClient; url: string; prefix: string; keys: RedisKeys; archive: ArchiveReader; cleanup(): Promise<void> } {
  const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  const redis = connectRedis({ redisUrl: url });
  const prefix = `t-${randomBytes(4).toString('hex')}`;
  const keys = new RedisKeys(prefix);
  return {
    redis,
    url,
    prefix,
    keys,
    /** The archive (archive/), in a folder of its own: the ledger reads archived batches through it. */
    archive: new ArchiveReader(new ArchiveIndex(redis, keys), mkdtempSync(join(tmpdir(), 'stipend-test-archive-'))),
    cleanup: async () => {
      await deleteKeys(redis, prefix);
      await redis.quit();
    },
  };
}
