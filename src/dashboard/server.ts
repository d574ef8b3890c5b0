import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import express, { type ErrorRequestHandler } from 'express';
import type { ResolvedConfig } from '../config/load.js';
import { consoleApp } from '../console/app.js';
import { ForbiddenError } from '../console/guard.js';
import { openContext } from '../context.js';
import { UsageError } from '../errors.js';
import { SCHEDULES_QUEUE } from '../ingest/schedules.js';
import type { Logger } from '../log.js';
import { openAccountQueue } from '../queue/account-queue.js';
import { logBullErrors } from '../queue/bull-errors.js';
import { assertRedisReachable, connectRedis } from '../redis/connection.js';
import { People } from '../people/people.js';
import { RedisKeys } from '../redis/keys.js';
import { Sessions } from '../people/sessions.js';
import { redactUrl } from '../redact-url.js';
import { basicAuth, consoleAdmins, type EngineersSignIn } from './auth.js';
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
 *   /console   the operations console for people (console/app.ts): each signs in as themselves
 *   /healthz   open to all (load balancers, container health checks); tells no more than whether
 *              Redis answers and how many workers are connected
 *   /metrics   Prometheus, for engineers (it shows money: give Prometheus basic_auth)
 *   /queues    bull-board over every account's payment queue and the schedules queue, for engineers
 *
 * `engineers`: who may see /metrics and /queues (auth.ts dashboardSignIn).
 */
export async function startDashboard(options: {
  config: ResolvedConfig;
  host: string;
  port: number;
  engineers: EngineersSignIn;
  readOnly: boolean;
  log: Logger;
  /** Where uploaded manifests wait between validation and submission (default: a folder under the system's temporary folder). */
  uploadsDir?: string;
}): Promise<RunningDashboard> {
  const { config, log } = options;
  await assertRedisReachable(config);
  // Its own connection, failing fast while Redis is away: a page or a scrape then errs at once
  // instead of waiting on a reconnect (workers, unlike this, must wait).
  const redis = connectRedis(config, { maxRetriesPerRequest: 1, enableOfflineQueue: false });
  if (redis.status !== 'ready') await once(redis, 'ready');
  const paymentQueues = config.accounts.map((account) => openAccountQueue(redis, config.prefix, account, log));
  const schedules = logBullErrors(new Queue(SCHEDULES_QUEUE, { connection: redis, prefix: new RedisKeys(config.prefix).schedulesBull() }), { queue: SCHEDULES_QUEUE }, log);
  const queues = [...paymentQueues, schedules];
  // The console's own context: the ledger and the people, on a connection that waits out a blip.
  const context = await openContext(config);
  const metrics = dashboardMetrics({ redis, prefix: config.prefix, accounts: config.accounts, queues, archive: context.archive });
  const people = new People(context.redis, context.keys);
  const sessions = new Sessions(context.redis, context.keys);
  const uploadsDir = options.uploadsDir ?? config.dashboard.uploadsDir ?? join(tmpdir(), `stipend-console-uploads-${config.prefix}`);

  const app = express();
  app.disable('x-powered-by');
  app.get('/healthz', async (_request, response) => {
    const health = await checkHealth(redis, schedules, paymentQueues);
    response.status(health.status === 'ok' ? 200 : 503).json(health);
  });
  app.use(await consoleApp({ context, people, sessions, log, uploadsDir }));
  const { engineers } = options;
  if (engineers.kind !== 'open') {
    app.use(['/metrics', BOARD_PATH], engineers.kind === 'basic' ? basicAuth(engineers.credentials) : await consoleAdmins(people, sessions));
  }
  app.get('/metrics', async (_request, response) => {
    const text = await metrics.render();
    response.type(metrics.contentType).send(text);
  });
  app.get('/', (_request, response) => response.redirect('/console/batches'));
  app.use(BOARD_PATH, bullBoard(queues, { basePath: BOARD_PATH, readOnly: options.readOnly }));
  const failed: ErrorRequestHandler = (error, request, response, _next) => {
    if (error instanceof ForbiddenError) return response.status(403).type('text/plain').send(`${error.message}\n`);
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
    await context.close();
    throw new UsageError(`the dashboard cannot listen on ${options.host}:${options.port}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
  const { port } = server.address() as AddressInfo;
  const url = `http://${options.host.includes(':') ? `[${options.host}]` : options.host}:${port}`;
  log.info({ url: redactUrl(url), readOnly: options.readOnly, engineers: engineers.kind, queues: queues.map((q) => q.name) }, 'dashboard listening');
  return {
    url,
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
      await Promise.all(queues.map((queue) => queue.close()));
      await redis.quit().catch(() => redis.disconnect());
      await context.close();
    },
  };
}
