import { loadConfig } from '../config/load.js';
import { openContext } from '../context.js';
import { startWatcher } from '../ingest/watcher.js';
import { createLogger } from '../log.js';
import { type RunningWorkers, startWorkers } from '../queue/workers.js';
import { stopWorkersInProcess } from './stop-workers.js';

/** `stipend watch <root>`: pays what is dropped into <root>/inbox/ until SIGINT/SIGTERM. */
export async function watchCommand(
  root: string,
  options: { stableMs: string; concurrency: string; withWorker?: boolean; config?: string },
): Promise<number> {
  const config = await loadConfig({ path: options.config });
  const log = createLogger({ name: 'watch' });
  const context = await openContext(config);
  let workers: RunningWorkers | undefined;
  try {
    if (options.withWorker) workers = await startWorkers(context, config.accounts, log);
    const watcher = await startWatcher(context, root, { stableMs: Number(options.stableMs), concurrency: Number(options.concurrency), leaseMs: 60_000, log });
    log.info({ root }, 'watching for manifests in inbox/<provider>/<account>/');
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    // Files under way stay in processing/; the next watcher takes them up where they stand.
    await watcher.close();
    return 0;
  } finally {
    await stopWorkersInProcess(workers);
    await context.close();
  }
}
