import { dataNodes, type RedisClient } from '../src/redis/connection.js';
import type { RedisKeys } from '../src/redis/keys.js';
import { bullPrefix } from '../src/queue/payment-job.js';

/** What a settled batch's keys weigh in Redis, by what they hold, in bytes. */
export interface RedisWeight {
  /** The ledger's payment records (one hash each). */
  records: number;
  /** The payment identities' holders (one string each), which keep a later manifest from paying them again. */
  holders: number;
  /** The batch's row list, which its report is written from. */
  rows: number;
  /** On a cluster where the provider has other accounts: the payment ids' reservations in the provider's slot, plain or archived. */
  reservations: number;
  /** BullMQ's keys of the batch's jobs (hashes, locks, logs). */
  jobs: number;
  /** BullMQ's keys of the queues themselves: events stream, meta, ids, the completed and failed sets. */
  queues: number;
  /** Everything else under the prefix: the batch record, indexes, rate-limit windows, metrics. */
  other: number;
  /** How many payment records Redis keeps as a hash table rather than a compact listpack. */
  hashtableRecords: number;
  recordsCount: number;
}

/**
 * Every key under the ledger's prefix once `batchId` is settled, on every server that holds data,
 * weighed with MEMORY USAGE … SAMPLES 0 (every element of a hash, list or stream counted, not a
 * sample), a page of keys per pipeline.
 */
export async function weighKeys(redis: RedisClient, keys: RedisKeys, owner: { provider: string; account: string }, batchId: string): Promise<RedisWeight> {
  const weight: RedisWeight = { records: 0, holders: 0, reservations: 0, rows: 0, jobs: 0, queues: 0, other: 0, hashtableRecords: 0, recordsCount: 0 };
  const { prefix } = keys;
  const { provider, account } = owner;
  const bull = `${bullPrefix(prefix, { provider, name: account })}:`;
  // Every key of the account starts as its holder keys do, up to the payment id.
  const accountKeys = keys.holder(provider, account, '').slice(0, -'holder:'.length);
  // The provider's slot: its keys start as a reservation's does, up to `identity`.
  const reservations = keys.identity(provider, '').slice(0, -'identity:'.length);
  // Each server holding data (every master of a cluster) is scanned and weighed on its own.
  for (const node of await dataNodes(redis)) {
    let cursor = '0';
    do {
      const [next, page] = await node.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      const read = node.pipeline();
      for (const key of page) read.call('MEMORY', 'USAGE', key, 'SAMPLES', '0').object('ENCODING', key);
      const answers = (await read.exec()) ?? [];
      for (const [i, key] of page.entries()) {
        const bytes = Number(answers[2 * i]?.[1] ?? 0);
        if (key.startsWith(`${accountKeys}pay:`)) {
          weight.records += bytes;
          weight.recordsCount += 1;
          if (answers[2 * i + 1]?.[1] === 'hashtable') weight.hashtableRecords += 1;
        } else if (key.startsWith(`${accountKeys}holder:`)) weight.holders += bytes;
        else if (key.startsWith(reservations)) weight.reservations += bytes;
        else if (key === keys.batchRows(provider, account, batchId)) weight.rows += bytes;
        else if (key.startsWith(bull)) weight[key.includes(`:${batchId}.`) ? 'jobs' : 'queues'] += bytes;
        else weight.other += bytes;
      }
    } while (cursor !== '0');
  }
  return weight;
}

/** The whole of it. */
export const totalBytes = (w: RedisWeight): number => w.records + w.holders + w.reservations + w.rows + w.jobs + w.queues + w.other;

/** INFO memory's used_memory: what the allocators of the servers holding data hold, whoever they hold it for. */
export async function usedMemory(redis: RedisClient): Promise<number> {
  const infos = await Promise.all((await dataNodes(redis)).map((node) => node.info('memory')));
  return infos.reduce((sum, info) => sum + Number(/used_memory:(\d+)/.exec(info)?.[1] ?? Number.NaN), 0);
}
