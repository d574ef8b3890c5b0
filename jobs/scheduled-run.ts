import type { Job } from 'bullmq';
import type { StipendContext } from '../src/context.js';
import { runScheduledIngest, scheduledRunData } from '../src/ingest/schedules.js';
import type { Logger } from '../src/log.js';

/**
 * The `scheduled-run` job, created by a schedule's job scheduler: ingest what waits in the
 * schedule's folder, as the watcher does, and wait until it is paid. Stopping the worker stops the
 * wait; the files stay in processing/ and the next run takes them up.
 */
export function scheduledRunProcessor(context: StipendContext, stopping: AbortSignal, log: Logger) {
  return async function processScheduledRun(job: Job): Promise<{ files: number }> {
    const run = scheduledRunData.parse(job.data);
    // A schedule's jobs carry its name as their scheduler's key.
    const schedule = job.repeatJobKey ?? job.name;
    const files = await runScheduledIngest(context, run, { schedule, leaseMs: 60_000, signal: stopping, log });
    log.info({ schedule, dir: run.dir, files }, 'scheduled run done');
    return { files };
  };
}
