import type { Redis } from 'ioredis';

/**
 * Deletes every key this program wrote under a prefix: the ledger, BullMQ's queues and the rate
 * limits. For the demo and for tests, never for real data.
 */
export async function deleteKeys(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) await redis.unlink(...keys);
  } while (cursor !== '0');
}
