import { setTimeout as sleep } from 'node:timers/promises';
import { Worker } from 'bullmq';
import { workerApprovalFence } from '../src/approval/worker-approval.js';
import { demandConnections } from '../src/config/connection.js';
import type { Account } from '../src/config/load.js';
import type { StipendContext } from '../src/context.js';
import { SCHEDULES_QUEUE } from '../src/ingest/schedules.js';
import { checkDurability } from '../src/sending/durability.js';
import type { Logger } from '../src/log.js';
import { logBullErrors } from '../src/queue/bull-errors.js';
import { openAccountQueue } from '../src/queue/account-queue.js';
import { bullPrefix, queueName } from '../src/queue/payment-job.js';
import { assertRedisReachable, connectRedis, describeTarget, type RedisTarget } from '../src/redis/connection.js';
import { openAccountClients } from '../src/sending/account-clients.js';
import type { RunningWorkers, WorkersStop } from '../src/worker-side.js';
import { startArchiver } from './archiver.js';
import { paymentProcessor } from './pay.js';
import { scheduledRunProcessor } from './scheduled-run.js';
import { startSweeper } from './sweeper.js';

// How long after the last possible end of a call in flight a graceful stop is given before Redis
// is checked, and how often it is checked again while it answers.
const STOP_SLACK_MS = 2000;

/**
 * Starts one BullMQ worker per account (WorkerSide.startWorkers). Each has the account's
 * concurrency; all of them, in every process, share the account's rate limit through the gate in
 * Redis.
 */
export async function startWorkers(context: StipendContext, accounts: Account[], log: Logger): Promise<RunningWorkers> {
  const { config } = context;
  // An unset ${VAR} of an account refuses before anything connects, too.
  demandConnections(accounts);
  // Refuses before anything connects where Redis could lose a sending mark an account relies on.
  const durability = await checkDurability(context, accounts, log);
  const bullConnection = connectRedis(config);
  const accountClients = await openAccountClients(context, accounts, log);
  const running = accountClients.clients.map(({ account, provider, gate }) => {
    const queue = openAccountQueue(bullConnection, config.prefix, account, log);
    const processor = paymentProcessor({
      account,
      client: provider,
      payments: context.payments(account),
      queue,
      pauseAccount: gate.pause,
      approvalFence: workerApprovalFence(context, account),
      confirmDurable: durability.confirmFor(account),
      log: log.child({ provider: account.provider, account: account.name }),
    });
    const worker = new Worker(queueName(account), processor, {
      connection: bullConnection,
      prefix: bullPrefix(config.prefix, account),
      concurrency: account.concurrency,
      // A job whose worker died is picked up again once its lock expires; the ledger makes the
      // re-run safe, so allow several before BullMQ gives up on it.
      lockDuration: config.lockDurationMs,
      stalledInterval: config.lockDurationMs,
      maxStalledCount: 5,
    });
    logBullErrors(worker, { queue: queueName(account) }, log);
    log.info({ provider: account.provider, account: account.name, concurrency: account.concurrency, rateLimit: account.rateLimit }, 'worker started');
    return { account, worker, queue };
  });
  const sweeper = startSweeper(context, new Map(running.map((r) => [r.account, r.queue])), log.child({ sweeper: true }));
  const archiver = startArchiver(context, log.child({ archiver: true }));
  // Scheduled runs: any worker process takes the next one.
  const stopping = new AbortController();
  const scheduled = new Worker(SCHEDULES_QUEUE, scheduledRunProcessor(context, stopping.signal, log.child({ schedules: true })), {
    connection: bullConnection,
    prefix: context.keys.schedulesBull(),
    concurrency: 2,
    lockDuration: config.lockDurationMs,
  });
  logBullErrors(scheduled, { queue: SCHEDULES_QUEUE }, log);
  const closeGracefully = async () => {
    stopping.abort();
    await scheduled.close();
    await sweeper.stop();
    await archiver.stop();
    await Promise.all(running.map((r) => r.worker.close()));
    await Promise.all(running.map((r) => r.queue.close()));
    await accountClients.close();
    await durability.close();
    await bullConnection.quit().catch(() => bullConnection.disconnect());
  };
  return {
    accounts,
    close: async () => {
      const callsEndedMs = Math.max(0, ...accounts.map((a) => a.timeoutMs)) + STOP_SLACK_MS;
      const outcome = await stopWithinReach(closeGracefully(), callsEndedMs, config, log);
      if (outcome === 'redis-unreachable') {
        log.error({ redis: describeTarget(config) }, 'stopped without Redis (unreachable): what the payments in flight got back could not be recorded; they stay sending in the ledger and the next worker settles them as in doubt');
      }
      return outcome;
    },
  };
}

/**
 * Waits for the graceful stop. Once it has taken longer than any call in flight can last, Redis is
 * checked: if it answers, the stop is still making progress and is waited for (checked again every
 * STOP_SLACK_MS); if not, nothing more can be recorded and waiting would be for ever.
 */
async function stopWithinReach(graceful: Promise<void>, callsEndedMs: number, redis: RedisTarget, log: Logger): Promise<WorkersStop> {
  const finished = graceful.then(
    () => true,
    (error: unknown) => {
      log.warn({ error: error instanceof Error ? error.message : String(error) }, 'stopping the workers failed part-way');
      return true;
    },
  );
  for (let waitMs = callsEndedMs; ; waitMs = STOP_SLACK_MS) {
    const timer = new AbortController();
    const done = await Promise.race([finished, sleep(waitMs, false, { signal: timer.signal }).catch(() => false)]);
    // A stop that finished first does not keep the process alive for the timer.
    timer.abort();
    if (done) return 'finished';
    if (!(await assertRedisReachable(redis).then(() => true, () => false))) return 'redis-unreachable';
  }
}
