import type { Redis } from 'ioredis';

/**
 * Deletes every key this program wrote under a prefix: the ledger, BullMQ's queues and the rate
 * limiters (Bottleneck names its keys b_<id>_…). For the demo and for tests, never for real data.
 */
export async function deleteKeys(redis: Redis, prefix: string): Promise<void> {
  for (const pattern of [`${prefix}:*`, `b_${prefix}:*`]) {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await redis.unlink(...keys);
    } while (cursor !== '0');
  }
}
