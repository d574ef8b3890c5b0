import { manifestRows } from '../../src/manifest/index.js';
import { ctpayer } from '../../src/providers/ctpayer.js';
import { connectRedis } from '../../src/redis/connection.js';
import { ctpayerManifest } from '../generate.js';
import { fmt, median, type RowContext, type RowResult, scaled } from '../harness.js';
import { paymentsSandbox, workerTrial } from '../payment-trials.js';
import { type RedisWeight, totalBytes, usedMemory, weighKeys } from '../redis-weight.js';
import { collect } from '../stack.js';

const GOAL_BYTES = 1024;

/**
 * Row 7: what a settled payment leaves in Redis. A batch is queued and paid through a `stipend worker`
 * process to the CT Payer sandbox (as in row 3); once it is settled and the worker stopped, every key
 * under the trial's prefix is weighed (MEMORY USAGE), and INFO memory's used_memory is read against
 * its value before the batch. Each per payment. The ledger's share (payment record, holder, batch
 * row) is what must stay: reports, exports and duplicate detection read it.
 */
export async function redisFootprintRow(context: RowContext): Promise<RowResult> {
  const payments = scaled(100_000, context.scale);
  const rows = await collect(manifestRows(await ctpayerManifest(context.dir, payments), ctpayer as never));
  const sandbox = await paymentsSandbox();
  const redis = connectRedis({ redisUrl: context.redisUrl });
  try {
    const account = { concurrency: 50, rateLimit: { max: 1_000_000, perMs: 1000, marginMs: 0 } };
    const weights: (RedisWeight & { usedMemory: number })[] = [];
    for (let run = 0; run < context.runs; run += 1) {
      const before = await usedMemory(redis);
      await workerTrial({
        sandbox, dir: context.dir, redisUrl: context.redisUrl, account, rows,
        settled: async (stipend, batchId) => {
          weights.push({ ...(await weighKeys(stipend.redis, stipend.keys, await stipend.batches.ownerOf(batchId), batchId)), usedMemory: (await usedMemory(redis)) - before });
        },
      });
    }
    // Per payment, the median over the runs.
    const per = (pick: (w: RedisWeight & { usedMemory: number }) => number) => median(weights.map((w) => pick(w) / payments));
    const total = per(totalBytes);
    const ledger = per((w) => w.records + w.holders + w.rows);
    const hashtable = median(weights.map((w) => w.hashtableRecords));
    const listpackLimit = await redis.config('GET', 'hash-max-listpack-value').then((answer) => `${answer[1]} bytes`, () => 'unreadable: CONFIG refused');
    return {
      row: `7. Redis per settled payment, ${fmt(payments)} payments`,
      project: `${fmt(total)} B per payment: ledger record ${fmt(per((w) => w.records))}, holder ${fmt(per((w) => w.holders))}, batch row ${fmt(per((w) => w.rows))}, BullMQ jobs ${fmt(per((w) => w.jobs))}, queues ${fmt(per((w) => w.queues), 1)}, other ${fmt(per((w) => w.other), 1)}`,
      baseline: `the ledger alone (record, holder, batch row) ${fmt(ledger)} B per payment`,
      ratio: undefined,
      goal: `≤ ${fmt(GOAL_BYTES)} B per payment`,
      met: total <= GOAL_BYTES,
      notes: [
        `MEMORY USAGE (SAMPLES 0) of every key under the trial's prefix once the batch is settled and the worker process stopped; INFO used_memory grew by ${fmt(per((w) => w.usedMemory))} B per payment meanwhile (the shared server's view: whatever else it held then counts too)`,
        `what stays of BullMQ is per queue, not per payment: ${fmt(per((w) => w.queues) * payments / 1024)} KB (events stream, meta, ids)`,
        hashtable === 0
          ? `every ledger record is a listpack (hash-max-listpack-value ${listpackLimit})`
          : `${fmt(hashtable)} of ${fmt(median(weights.map((w) => w.recordsCount)))} ledger records are hash tables, not listpacks: a value (the provider fields' JSON) is longer than hash-max-listpack-value (${listpackLimit})`,
      ],
    };
  } finally {
    await redis.quit();
    await sandbox.close();
  }
}
