import { loadConfig, selectAccounts } from '../config/load.js';
import { openContext } from '../context.js';
import { createLogger } from '../log.js';
import type { WorkerSide } from '../worker-side.js';
import { stopWorkersInProcess } from './stop-workers.js';

/**
 * `stipend worker`: pays queued payments until SIGINT/SIGTERM, then stops taking jobs and lets the
 * payments in flight finish, so no call is abandoned half-way. With Redis unreachable it stops once
 * those calls have ended (timeoutMs and a little), with exit code 1: their outcomes could not be
 * recorded, and the next worker settles them from the ledger.
 */
export async function workerCommand(options: { provider?: string; account?: string; config?: string }, workerSide: WorkerSide): Promise<number> {
  const config = await loadConfig({ path: options.config });
  const accounts = selectAccounts(config, options.provider, options.account);
  const log = createLogger({ name: 'worker' });
  const context = await openContext(config);
  // A refusal (Redis that could lose a sending mark) leaves nothing open behind it.
  const workers = await workerSide.startWorkers(context, accounts, log).catch(async (error: unknown) => {
    await context.close();
    throw error;
  });
  const signal = await new Promise<string>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
  log.info({ signal }, 'shutting down: finishing payments in flight');
  await stopWorkersInProcess(workers);
  await context.close();
  log.info('stopped');
  return 0;
}
