import type { Redis } from 'ioredis';

/**
 * The replies of many reads sent in one round trip (a pipeline, not a transaction: reads need no
 * atomicity), in order. The first failed read's error is thrown.
 */
export async function readPipelined(redis: Redis, commands: (string | number)[][]): Promise<unknown[]> {
  if (commands.length === 0) return [];
  return ((await redis.pipeline(commands).exec()) ?? []).map(([error, reply]) => {
    if (error) throw error;
    return reply;
  });
}
