import { Queue, Worker } from 'bullmq';
import { paymentProcessor } from '../../jobs/pay.js';
import { scheduledRunProcessor } from '../../jobs/scheduled-run.js';
import type { Account } from '../config/load.js';
import type { StipendContext } from '../context.js';
import { SCHEDULES_QUEUE } from '../ingest/schedules.js';
import { checkDurability } from '../ledger/durability.js';
import type { Logger } from '../log.js';
import { openAccountClients } from './account-clients.js';
import { bullPrefix, queueName } from './payment-job.js';
import { connectRedis } from './redis.js';
import { startSweeper } from './sweeper.js';

export interface RunningWorkers {
  accounts: Account[];
  /** Stops taking jobs, lets payments in flight finish, then disconnects. */
  close(): Promise<void>;
}

/**
 * Starts one BullMQ worker per account. Each has the account's concurrency; all of them, in every
 * process, share the account's rate limit through the gate in Redis.
 */
export async function startWorkers(context: StipendContext, accounts: Account[], log: Logger): Promise<RunningWorkers> {
  const { config } = context;
  // Refuses before anything connects where Redis could lose a sending mark an account relies on.
  const durability = await checkDurability(context, accounts, log);
  const bullConnection = connectRedis(config.redisUrl);
  const accountClients = await openAccountClients(context, accounts, log);
  const running = accountClients.clients.map(({ account, client, gate }) => {
    const queue = new Queue(queueName(account), { connection: bullConnection, prefix: bullPrefix(config.prefix) });
    const processor = paymentProcessor({
      account,
      client,
      payments: context.payments(account),
      queue,
      pauseAccount: gate.pause,
      confirmDurable: durability.confirmFor(account),
      log: log.child({ provider: account.provider, account: account.name }),
    });
    const worker = new Worker(queueName(account), processor, {
      connection: bullConnection,
      prefix: bullPrefix(config.prefix),
      concurrency: account.concurrency,
      // A job whose worker died is picked up again once its lock expires; the ledger makes the
      // re-run safe, so allow several before BullMQ gives up on it.
      lockDuration: config.lockDurationMs,
      stalledInterval: config.lockDurationMs,
      maxStalledCount: 5,
    });
    worker.on('error', (error) => log.error({ err: error, queue: queueName(account) }, 'worker error'));
    log.info({ provider: account.provider, account: account.name, concurrency: account.concurrency, rateLimit: account.rateLimit }, 'worker started');
    return { account, worker, queue };
  });
  const sweeper = startSweeper(context, new Map(running.map((r) => [r.account, r.queue])), log.child({ sweeper: true }));
  // Scheduled runs: any worker process takes the next one.
  const stopping = new AbortController();
  const scheduled = new Worker(SCHEDULES_QUEUE, scheduledRunProcessor(context, stopping.signal, log.child({ schedules: true })), {
    connection: bullConnection,
    prefix: bullPrefix(config.prefix),
    concurrency: 2,
    lockDuration: config.lockDurationMs,
  });
  scheduled.on('error', (error) => log.error({ err: error, queue: SCHEDULES_QUEUE }, 'worker error'));
  return {
    accounts,
    close: async () => {
      stopping.abort();
      await scheduled.close();
      await sweeper.stop();
      await Promise.all(running.map((r) => r.worker.close()));
      await Promise.all(running.map((r) => r.queue.close()));
      await accountClients.close();
      await durability.close();
      await bullConnection.quit().catch(() => bullConnection.disconnect());
    },
  };
}
