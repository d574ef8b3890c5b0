import calculateSlot from 'cluster-key-slot';
import { Cluster } from 'ioredis';
import type { RedisClient } from './connection.js';

/**
 * The replies of many reads sent in one round trip (a pipeline, not a transaction: reads need no
 * atomicity), in order. The first failed read's error is thrown. Each command's key is its second
 * element. On a cluster a pipeline reaches one server, so the reads go in one pipeline per slot,
 * all at once.
 */
export async function readPipelined(redis: RedisClient, commands: (string | number)[][]): Promise<unknown[]> {
  if (commands.length === 0) return [];
  if (!(redis instanceof Cluster)) return pipelined(redis, commands);
  const bySlot = new Map<number, number[]>();
  for (const [i, command] of commands.entries()) {
    const slot = calculateSlot(String(command[1]));
    const indexes = bySlot.get(slot);
    if (indexes === undefined) bySlot.set(slot, [i]);
    else indexes.push(i);
  }
  const replies: unknown[] = new Array(commands.length);
  await Promise.all([...bySlot.values()].map(async (indexes) => {
    const answers = await pipelined(redis, indexes.map((i) => commands[i]!));
    for (const [j, i] of indexes.entries()) replies[i] = answers[j];
  }));
  return replies;
}

async function pipelined(redis: RedisClient, commands: (string | number)[][]): Promise<unknown[]> {
  return ((await redis.pipeline(commands).exec()) ?? []).map(([error, reply]) => {
    if (error) throw error;
    return reply;
  });
}
