import { dataNodes, type RedisClient } from '../../src/redis/connection.js';

/** One key and everything it holds, as text to search: values, members, fields, stream entries. */
export interface KeyContents {
  key: string;
  type: string;
  text: string;
}

/**
 * Every key under `prefix` read by its type, not DUMPed: DUMP's format compresses long strings
 * (LZF), which would hide a secret from a search. Bytes are read as latin1, so none is lost to
 * UTF-8 decoding.
 */
export async function readKeysUnder(redis: RedisClient, prefix: string): Promise<KeyContents[]> {
  const keys: string[] = [];
  // A cluster's keys are on its masters: each is scanned.
  for (const node of await dataNodes(redis)) {
    let cursor = '0';
    do {
      const [next, found] = await node.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      keys.push(...found);
    } while (cursor !== '0');
  }
  return Promise.all(keys.sort().map(async (key) => {
    const type = await redis.type(key);
    return { key, type, text: (await readValue(redis, key, type)).map((part) => part.toString('latin1')).join('\n') };
  }));
}

async function readValue(redis: RedisClient, key: string, type: string): Promise<(Buffer | string)[]> {
  switch (type) {
    case 'string':
      return [(await redis.getBuffer(key)) ?? ''];
    case 'hash':
      return Object.entries(await redis.hgetallBuffer(key)).flat();
    case 'list':
      return redis.lrangeBuffer(key, 0, -1);
    case 'set':
      return redis.smembersBuffer(key);
    case 'zset':
      // Members only: scores are numbers Redis keeps as doubles (BullMQ's and the ledger's times and
      // orders, a delayed job's time × 4096), never text, and read as digits they pass for card numbers.
      return redis.zrangeBuffer(key, 0, '-1');
    case 'stream':
      return (await redis.xrangeBuffer(key, '-', '+')).flatMap(([id, fields]) => [id, ...fields]);
    case 'none':
      // Gone between SCAN and TYPE (a lock released, a job removed): nothing to read.
      return [];
    default:
      throw new Error(`${key}: no reader for Redis type ${type}`);
  }
}
