import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { Queue } from 'bullmq';
import express, { type ErrorRequestHandler } from 'express';
import type { ResolvedConfig } from '../config/load.js';
import { UsageError } from '../errors.js';
import { SCHEDULES_QUEUE } from '../ingest/schedules.js';
import type { Logger } from '../log.js';
import { openAccountQueue } from '../queue/account-queue.js';
import { logBullErrors } from '../queue/bull-errors.js';
import { bullPrefix } from '../queue/payment-job.js';
import { assertRedisReachable, connectRedis } from '../redis/connection.js';
import { redactUrl } from '../redact-url.js';
import { basicAuth, type Credentials } from './auth.js';
import { bullBoard } from './board.js';
import { checkHealth } from './health.js';
import { dashboardMetrics } from './metrics.js';

export const BOARD_PATH = '/queues';

export interface RunningDashboard {
  url: string;
  close(): Promise<void>;
}

/**
 * The dashboard's HTTP server:
 *
 *   /healthz   open to all (load balancers, container health checks); tells no more than whether
 *              Redis answers and how many workers are connected
 *   /metrics   Prometheus, behind the sign-in (it shows money: give Prometheus basic_auth)
 *   /queues    bull-board over every account's payment queue and the schedules queue
 *
 * `credentials` undefined: no sign-in (only allowed on a loopback address, see dashboardCredentials).
 */
export async function startDashboard(options: {
  config: ResolvedConfig;
  host: string;
  port: number;
  credentials: Credentials | undefined;
  readOnly: boolean;
  log: Logger;
}): Promise<RunningDashboard> {
  const { config, log } = options;
  await assertRedisReachable(config.redisUrl);
  // Its own connection, failing fast while Redis is away: a page or a scrape then errs at once
  // instead of waiting on a reconnect (workers, unlike this, must wait).
  const redis = connectRedis(config.redisUrl, { maxRetriesPerRequest: 1, enableOfflineQueue: false });
  if (redis.status !== 'ready') await once(redis, 'ready');
  const paymentQueues = config.accounts.map((account) => openAccountQueue(redis, config.prefix, account, log));
  const schedules = logBullErrors(new Queue(SCHEDULES_QUEUE, { connection: redis, prefix: bullPrefix(config.prefix) }), { queue: SCHEDULES_QUEUE }, log);
  const queues = [...paymentQueues, schedules];
  const metrics = dashboardMetrics({ redis, prefix: config.prefix, accounts: config.accounts, queues });

  const app = express();
  app.disable('x-powered-by');
  app.get('/healthz', async (_request, response) => {
    const health = await checkHealth(redis, schedules, paymentQueues);
    response.status(health.status === 'ok' ? 200 : 503).json(health);
  });
  if (options.credentials) app.use(basicAuth(options.credentials));
  app.get('/metrics', async (_request, response) => {
    const text = await metrics.render();
    response.type(metrics.contentType).send(text);
  });
  app.get('/', (_request, response) => response.redirect(BOARD_PATH));
  app.use(BOARD_PATH, bullBoard(queues, { basePath: BOARD_PATH, readOnly: options.readOnly }));
  const failed: ErrorRequestHandler = (error, request, response, _next) => {
    log.error({ err: error, path: request.path }, 'dashboard request failed');
    response.status(500).json({ error: 'internal error; see the dashboard\'s log' });
  };
  app.use(failed);

  const server = app.listen(options.port, options.host);
  try {
    await Promise.race([once(server, 'listening'), once(server, 'error').then(([error]) => Promise.reject(error as Error))]);
  } catch (error) {
    await Promise.all(queues.map((queue) => queue.close()));
    redis.disconnect();
    throw new UsageError(`the dashboard cannot listen on ${options.host}:${options.port}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
  const { port } = server.address() as AddressInfo;
  const url = `http://${options.host.includes(':') ? `[${options.host}]` : options.host}:${port}`;
  log.info({ url: redactUrl(url), readOnly: options.readOnly, signIn: options.credentials ? 'basic' : 'none', queues: queues.map((q) => q.name) }, 'dashboard listening');
  return {
    url,
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
      await Promise.all(queues.map((queue) => queue.close()));
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}
