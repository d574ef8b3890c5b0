import { loadConfig } from '../config/load.js';
import { dashboardSignIn } from '../dashboard/auth.js';
import { startDashboard } from '../dashboard/server.js';
import { createLogger } from '../log.js';
import { redactUrl } from '../redact-url.js';

/**
 * `stipend dashboard`: bull-board, /metrics and /healthz until SIGINT/SIGTERM. Read-only unless the
 * configuration says `dashboard.readOnly: false` or --allow-actions is given.
 */
export async function dashboardCommand(options: { host: string; port: string; allowActions?: boolean; auth: boolean; config?: string }): Promise<number> {
  const config = await loadConfig({ path: options.config });
  const engineers = dashboardSignIn(config.dashboard.signIn, { auth: options.auth, host: options.host });
  const log = createLogger({ name: 'dashboard' });
  const dashboard = await startDashboard({
    config,
    host: options.host,
    port: Number(options.port),
    engineers,
    readOnly: config.dashboard.readOnly && !options.allowActions,
    log,
  });
  const url = redactUrl(dashboard.url);
  process.stdout.write(`dashboard: ${url}/console/ (queues ${url}/queues, metrics ${url}/metrics, health ${url}/healthz)\n`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await dashboard.close();
  return 0;
}
