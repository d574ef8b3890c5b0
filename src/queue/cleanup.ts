import type { Queue } from 'bullmq';
import { dataNodes, type RedisClient } from '../redis/connection.js';
import { RedisKeys } from '../redis/keys.js';

/**
 * Deletes every key this program wrote under a prefix: the ledger, BullMQ's queues and the rate
 * limits. For the demo and for tests, never for real data.
 */
export async function deleteKeys(redis: RedisClient, prefix: string): Promise<void> {
  // A cluster's keys are on its masters, each scanned on its own; a cluster client deletes one key per command.
  for (const node of await dataNodes(redis)) {
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', new RedisKeys(prefix).everything(), 'COUNT', 1000);
      cursor = next;
      if (keys.length === 0) continue;
      if (node === redis) await redis.unlink(...keys);
      else await Promise.all(keys.map((key) => redis.unlink(key)));
    } while (cursor !== '0');
  }
}

// Jobs removed per script: each is one Redis call, short enough not to hold other clients up.
const CLEAN_PAGE = 1000;

/**
 * Removes a payment queue's completed jobs, which earlier versions left behind: each kept itself 24
 * hours, to be removed as a later job completed. Jobs now go as they complete, and none removes those
 * any more. Where none are left (every enqueue after the first), this is one cheap call.
 */
export async function removeCompletedJobs(queue: Queue): Promise<void> {
  for (;;) {
    const removed = await queue.clean(0, CLEAN_PAGE, 'completed');
    if (removed.length < CLEAN_PAGE) return;
  }
}
