import { loadConfig, selectAccounts } from '../config/load.js';
import { openContext } from '../context.js';
import { createLogger } from '../log.js';
import { startWorkers } from '../queue/workers.js';

/**
 * `stipend worker`: pays queued payments until SIGINT/SIGTERM, then stops taking jobs and lets the
 * payments in flight finish, so no call is abandoned half-way.
 */
export async function workerCommand(options: { provider?: string; account?: string; config?: string }): Promise<number> {
  const config = await loadConfig({ path: options.config });
  const accounts = selectAccounts(config, options.provider, options.account);
  const log = createLogger({ name: 'worker' });
  const context = await openContext(config);
  const workers = await startWorkers(context, accounts, log);
  const signal = await new Promise<string>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
  log.info({ signal }, 'shutting down: finishing payments in flight');
  await workers.close();
  await context.close();
  log.info('stopped');
  return 0;
}
