import { type Job, Queue, Worker } from 'bullmq';
import { pino } from 'pino';
import { startWorkers } from '../../jobs/workers.js';
import { waitForBatch } from '../../src/batches/wait.js';
import { loadConfig } from '../../src/config/load.js';
import { openContext } from '../../src/context.js';
import { createLogger } from '../../src/log.js';
import { bullPrefix, type PaymentJobData, queueName } from '../../src/queue/payment-job.js';
import { connectRedis, type RedisTarget } from '../../src/redis/connection.js';
import { openProviderClient } from '../../src/sending/provider-client.js';
import { bareBullPrefix } from '../stack.js';
import type { Task } from './task.js';

/**
 * Both sides find their jobs queued (by the row, in another process) in a paused queue, start
 * their workers, then start the clock and resume the queue: the workers' start-up is not measured.
 */
async function resume(target: RedisTarget, queues: { prefix: string; name: string }[]): Promise<void> {
  const connection = connectRedis(target);
  await Promise.all(queues.map(async ({ prefix, name }) => {
    const queue = new Queue(name, { connection, prefix });
    await queue.resume();
    await queue.close();
  }));
  await connection.quit();
}

/**
 * The project: `stipend worker` for the accounts (workers, rate-limit gates, ledger, HTTP to the
 * sandboxes), logging at info as it does in production (to /dev/null), until every batch
 * (`batchIds`, one per account) is settled.
 */
export const execute: Task = async (args, start) => {
  const config = await loadConfig({ path: String(args.configFile) });
  const context = await openContext(config);
  const log = createLogger({ level: 'info', destination: pino.destination('/dev/null') });
  const workers = await startWorkers(context, config.accounts, log);
  try {
    start();
    await resume(config, config.accounts.map((account) => ({ prefix: bullPrefix(config.prefix, account), name: queueName(account) })));
    let paid = 0;
    for (const batchId of args.batchIds as string[]) {
      const batch = await waitForBatch(context, batchId, { pollMs: 20 });
      if (batch.n_paid !== batch.accepted) throw new Error(`${batch.accepted} payments, ${batch.n_paid} paid: ${JSON.stringify(batch)}`);
      paid += batch.n_paid;
    }
    return { items: paid };
  } finally {
    await workers.close();
    await context.close();
  }
};

/**
 * The baseline: a bare BullMQ worker with the same concurrency, running no-op jobs; with a
 * `configFile`, each job makes its payment's provider call and nothing else (the call's floor).
 */
export const bullmqWorker: Task = async (args, start) => {
  const [redisUrl, prefix, name, jobs] = [String(args.redisUrl), String(args.prefix), String(args.queue), Number(args.jobs)];
  const connection = connectRedis({ redisUrl });
  const call = args.configFile === undefined ? undefined : await providerCall(String(args.configFile));
  const worker = new Worker(name, call?.pay ?? (async () => {}), { connection, prefix: bareBullPrefix(prefix), concurrency: Number(args.concurrency) });
  let completed = 0;
  const done = new Promise<void>((resolve) => {
    worker.on('completed', () => {
      completed += 1;
      if (completed === jobs) resolve();
    });
  });
  try {
    await worker.waitUntilReady();
    start();
    await resume({ redisUrl }, [{ prefix: bareBullPrefix(prefix), name }]);
    await done;
    return { items: completed };
  } finally {
    await worker.close();
    await call?.close();
    await connection.quit();
  }
};

/** The account's provider client, without gate or ledger: a job's call is all its processor does. */
async function providerCall(configFile: string): Promise<{ pay: (job: Job<PaymentJobData>) => Promise<void>; close(): Promise<void> }> {
  const config = await loadConfig({ path: configFile });
  const context = await openContext(config);
  const client = openProviderClient(context.redis, context.keys, config.accounts[0]!);
  return {
    pay: async ({ data }) => {
      const outcome = await client.pay({ paymentId: data.paymentId, idempotencyKey: data.paymentId, amountCents: data.amountCents, fields: data.fields });
      if (outcome.kind !== 'paid') throw new Error(`the sandbox answered ${outcome.kind}: ${outcome.code}`);
    },
    close: async () => {
      await client.close();
      await context.close();
    },
  };
}
