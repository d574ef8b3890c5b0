import type { RunningWorkers } from '../worker-side.js';

/**
 * Stops workers running in this process, letting their payments in flight finish. With Redis
 * unreachable nothing more can be recorded and its connections and BullMQ's timers wait for it, so
 * the process ends here with code 1, once the calls in flight have ended (the workers logged why:
 * those payments stay `sending`, and the next worker settles them as in doubt).
 */
export async function stopWorkersInProcess(workers: RunningWorkers | undefined): Promise<void> {
  if ((await workers?.close()) === 'redis-unreachable') process.exit(1);
}
