import { archiveOlderThan, forgetExpiredHolders } from '../src/archive/archive-old.js';
import type { StipendContext } from '../src/context.js';
import { ArchiveBusyError } from '../src/ledger/archive-errors.js';
import type { Logger } from '../src/log.js';
import { tryLock } from '../src/redis/lock.js';

/** How often a worker process looks whether the archive's turn has come (at most). */
const LOOK_EVERY_MS = 10 * 60_000;

/**
 * The scheduled archive (config archive.everyHours): every settled batch older than
 * archive.olderThanDays moves out of Redis (archive/). The turn is a lock in Redis that lasts the
 * interval and is not released after a run, so across every worker process, restarts included, it
 * runs once per interval; a run that fails gives the turn back for the next look.
 */
export function startArchiver(context: StipendContext, log: Logger): { stop(): Promise<void> } {
  const { everyMs, olderThanMs } = context.config.archive;
  if (everyMs === 0) return { stop: async () => {} };
  let running: Promise<void> | undefined;
  const timer = setInterval(() => {
    running ??= archiveIfDue().finally(() => (running = undefined));
  }, Math.min(everyMs, LOOK_EVERY_MS));

  async function archiveIfDue(): Promise<void> {
    const turn = await tryLock(context.redis, context.keys.archiverLock(), everyMs).catch(() => undefined);
    if (!turn) return;
    try {
      const outcomes = await archiveOlderThan(context, olderThanMs);
      const archived = outcomes.filter((outcome) => outcome.archived);
      if (outcomes.length > 0) log.info({ archived: archived.length, staying: outcomes.length - archived.length }, 'archived settled batches');
      for (const outcome of outcomes) if (!outcome.archived) log.info({ batchId: outcome.batchId, reason: outcome.reason }, 'batch stays in Redis');
      const forgotten = await forgetExpiredHolders(context);
      if (forgotten > 0) log.info({ forgotten }, 'archived payments past rememberPaymentsDays forgotten');
    } catch (error) {
      if (error instanceof ArchiveBusyError) log.info('another archive run is at work; the next look tries again');
      else log.error({ err: error }, 'archive failed; the next look tries again');
      await turn.release();
    }
  }

  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
