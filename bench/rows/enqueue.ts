import { rm } from 'node:fs/promises';
import { connectRedis } from '../../src/redis/connection.js';
import { deleteKeys } from '../../src/queue/cleanup.js';
import { ctpayerManifest } from '../generate.js';
import { alternate, fmt, type Measure, median, rate, type RowContext, type RowResult, scaled, trial } from '../harness.js';
import { newPrefix, writeBenchConfig } from '../stack.js';

/**
 * Row 2: validated payments into the queue with their ledger and batch records, against bare
 * BullMQ addBulk of the same jobs. Each trial has a Redis key prefix of its own, removed after it.
 */
export async function enqueueRow(context: RowContext): Promise<RowResult> {
  const payments = scaled(100_000, context.scale);
  const file = await ctpayerManifest(context.dir, payments);
  const redis = connectRedis({ redisUrl: context.redisUrl });
  const run = async (task: string): Promise<Measure> => {
    const prefix = newPrefix();
    // Nothing is sent: the account's URL is never called.
    const configFile = await writeBenchConfig(context.dir, { prefix, redisUrl: context.redisUrl, baseUrl: 'http://127.0.0.1:9' });
    try {
      return await trial(task, { configFile, file });
    } finally {
      await deleteKeys(redis, prefix);
      await rm(configFile);
    }
  };
  try {
    const runs = await alternate(context.runs, { project: () => run('enqueue'), baseline: () => run('bullmq-add-bulk') });
    const projectRate = median(runs.project.map(rate));
    const baselineRate = median(runs.baseline.map(rate));
    const ratio = projectRate / baselineRate;
    return {
      row: `2. Enqueue ${fmt(payments)} payments`,
      project: `${fmt(projectRate)} payments/s, peak ${fmt(median(runs.project.map((m) => m.peakRssMb)))} MB`,
      baseline: `BullMQ addBulk ${fmt(baselineRate)} jobs/s, peak ${fmt(median(runs.baseline.map((m) => m.peakRssMb)))} MB`,
      ratio,
      goal: 'ratio ≥ 0.6',
      met: ratio >= 0.6,
      notes: ['rows validated before the clock starts (row 1 measures validation); the project claims each payment in the ledger, queues its job and records its batch row'],
    };
  } finally {
    await redis.quit();
  }
}
