import { join } from 'node:path';
import { loadConfig } from '../config/load.js';
import { openContext } from '../context.js';
import { startWatcher } from '../ingest/watcher.js';
import { createLogger } from '../log.js';
import type { RunningWorkers, WorkerSide } from '../worker-side.js';
import { printLine } from './progress-lines.js';
import { stopWorkersInProcess } from './stop-workers.js';
import { watchLines } from './watch-lines.js';

/**
 * `stipend watch <root>`: pays what is dropped into <root>/inbox/ until SIGINT/SIGTERM. Lines for
 * people go to stdout; the JSON log stays on stderr, one object a line, for programs.
 */
export async function watchCommand(
  root: string,
  options: { stableMs: string; concurrency: string; withWorker?: boolean; config?: string },
  workerSide: WorkerSide,
): Promise<number> {
  const config = await loadConfig({ path: options.config });
  const log = createLogger({ name: 'watch' });
  const context = await openContext(config);
  const lines = watchLines(root, printLine);
  let workers: RunningWorkers | undefined;
  try {
    if (options.withWorker) workers = await workerSide.startWorkers(context, config.accounts, log);
    const watcher = await startWatcher(context, root, {
      stableMs: Number(options.stableMs), concurrency: Number(options.concurrency), leaseMs: 60_000, log, onFile: lines.onFile,
    });
    log.info({ root }, 'watching for manifests in inbox/<provider>/<account>/');
    printLine(`watching ${join(root, 'inbox')}/<provider>/<account>/ for manifests (Ctrl-C stops)`);
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    // Files under way stay in processing/; the next watcher takes them up where they stand.
    await watcher.close();
    return 0;
  } finally {
    lines.stop();
    await stopWorkersInProcess(workers);
    await context.close();
  }
}
