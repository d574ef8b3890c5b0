import { resolve } from 'node:path';
import { Queue } from 'bullmq';
import pLimit from 'p-limit';
import { z } from 'zod';
import { serviceHere } from '../audit/actor.js';
import { type Account, findAccount } from '../config/load.js';
import type { StipendContext } from '../context.js';
import { UsageError } from '../errors.js';
import type { Logger } from '../log.js';
import { logBullErrors } from '../queue/bull-errors.js';
import { DropFolder } from './drop-folder.js';
import { ingestFile } from './ingest-file.js';

/**
 * Scheduled visit-payment runs: BullMQ job schedulers on one queue, so a schedule lives in Redis and
 * whichever worker is free runs it. A schedule's id is its name, and adding is an upsert: several
 * processes adding the same schedule at once leave exactly one.
 */
export const SCHEDULES_QUEUE = 'schedules';
export const SCHEDULED_RUN_JOB = 'scheduled-run';

export const scheduledRunData = z.object({
  /** A drop folder root: the run takes what waits in inbox/<provider>/<account>/ (or inbox/<provider>/). */
  dir: z.string(),
  provider: z.string(),
  account: z.string(),
});
export type ScheduledRunData = z.infer<typeof scheduledRunData>;

/** `readOnly`: a Queue that only reads (listing schedules) writes nothing, not even the queue's meta. */
export function schedulesQueue(context: StipendContext, options: { readOnly?: boolean } = {}): Queue {
  const queue = new Queue(SCHEDULES_QUEUE, { connection: context.redis, prefix: context.keys.schedulesBull(), skipMetasUpdate: options.readOnly === true });
  return logBullErrors(queue, { queue: SCHEDULES_QUEUE });
}

export async function addSchedule(context: StipendContext, name: string, options: { cron: string; dir: string; provider: string; account?: string }): Promise<{ next?: number }> {
  if (!/^[A-Za-z0-9_.-]{1,60}$/.test(name)) throw new UsageError('a schedule name is 1-60 letters, digits, _ . or -');
  const account = findAccount(context.config, options.provider, options.account);
  const data: ScheduledRunData = { dir: resolve(options.dir), provider: account.provider, account: account.name };
  const queue = schedulesQueue(context);
  try {
    await queue.upsertJobScheduler(name, { pattern: options.cron }, { name: SCHEDULED_RUN_JOB, data });
    return { next: (await queue.getJobScheduler(name))?.next };
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw new UsageError(`--cron "${options.cron}" is not a cron pattern this understands (${error instanceof Error ? error.message : String(error)})`);
  } finally {
    await queue.close();
  }
}

export async function listSchedules(context: StipendContext): Promise<{ name: string; pattern: string; next?: number; run: ScheduledRunData }[]> {
  const queue = schedulesQueue(context, { readOnly: true });
  try {
    const schedulers = await queue.getJobSchedulers(0, -1, true);
    return schedulers.map((s) => ({ name: s.key, pattern: s.pattern ?? '', next: s.next, run: scheduledRunData.parse(s.template?.data) }));
  } finally {
    await queue.close();
  }
}

export async function removeSchedule(context: StipendContext, name: string): Promise<void> {
  const queue = schedulesQueue(context);
  try {
    if (!(await queue.removeJobScheduler(name))) throw new UsageError(`no schedule named "${name}"`);
  } finally {
    await queue.close();
  }
}

/**
 * One run of a schedule: what a stopped run left in processing/, then every file waiting in the
 * account's inbox, each ingested exactly as the watcher would, each waited for until it is paid.
 * What it submits is the schedule's (`service:schedule:<name>@host`, or `service:schedule@host`
 * where the name is not known): any person may approve it, never the schedule.
 */
export async function runScheduledIngest(
  context: StipendContext,
  run: ScheduledRunData,
  options: { schedule?: string; leaseMs: number; signal: AbortSignal; log: Logger },
): Promise<number> {
  const account: Account = findAccount(context.config, run.provider, run.account);
  const folder = new DropFolder(run.dir, context.config);
  await folder.prepare();
  const files = [...(await folder.leftInProcessing()).filter((f) => f.account === account).map((file) => ({ file, fresh: false }))];
  for (const path of await folder.waitingInInbox(account)) {
    const file = folder.inboxFile(path);
    if (await folder.claim(path, file)) files.push({ file, fresh: true });
  }
  const limit = pLimit(4);
  const { schedule, ...ingestOptions } = options;
  const submittedBy = serviceHere(schedule === undefined ? 'schedule' : `schedule:${schedule}`);
  await Promise.all(files.map(({ file, fresh }) => limit(() => ingestFile(context, folder, file, { fresh, submittedBy, ...ingestOptions }))));
  return files.length;
}
