import { basename, join, relative } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { watch } from 'chokidar';
import pLimit from 'p-limit';
import { serviceHere } from '../audit/actor.js';
import type { StipendContext } from '../context.js';
import type { Logger } from '../log.js';
import { DropFolder, type DroppedFile, isManifestName } from './drop-folder.js';
import { type FileListener, ingestFile } from './ingest-file.js';

export interface WatcherOptions {
  /** A file counts as completely written once its size has not changed for this long. */
  stableMs: number;
  /** Files processed at once (each waits for its batch to be paid). */
  concurrency: number;
  /** How long a watcher's hold on a file in processing/ lasts without renewal (a crash frees it). */
  leaseMs: number;
  /** A file whose ingest failed is taken again after firstMs, then twice as long each time, up to maxMs. */
  retry?: { firstMs: number; maxMs: number };
  log: Logger;
  /** Hears what happens to each file, for people; the log has it for programs. */
  onFile?: FileListener;
}

const RETRY = { firstMs: 1000, maxMs: 60_000 };

/**
 * `stipend watch`: takes manifests dropped into <root>/inbox/ and pays them, once.
 *
 * - Only complete files are taken: *.csv (a file written under a temporary name and then renamed),
 *   whose size has been stable for `stableMs`. Only regular files are read: a link, a FIFO or a
 *   folder named *.csv goes to rejected/ unread, with one line saying why (regular-file.ts).
 * - A file is claimed by moving it into processing/ (a rename: of two watchers, one wins) and is
 *   worked on under a lease in Redis, so two watchers never process the same file.
 * - The same file (by SHA-256) dropped again goes to duplicates/, naming the batch that paid it; an
 *   invalid one to rejected/ with <name>.errors.csv; a paid one to archive/, its report to outbox/.
 * - Files left in processing/ by a watcher that stopped are taken up again on start: the batch the
 *   file became is followed (or its interrupted enqueue finished), never submitted twice.
 * - A file whose ingest fails (Redis away, a disk error, another process queuing the same file) is
 *   taken again with backoff where it stands, until it reaches its end or the watcher stops.
 */
export async function startWatcher(context: StipendContext, root: string, options: WatcherOptions): Promise<{ close(): Promise<void> }> {
  const folder = new DropFolder(root, context.config);
  await folder.prepare();
  const limit = pLimit(options.concurrency);
  const stopping = new AbortController();
  // What it submits is the watcher's, as a service: any person may approve it, never the watcher.
  const ingestOptions = { leaseMs: options.leaseMs, signal: stopping.signal, log: options.log, submittedBy: serviceHere('watch'), onFile: options.onFile };
  const inFlight = new Set<Promise<void>>();
  const retry = options.retry ?? RETRY;
  // Works on a file until it reaches its end: a failure is logged and tried again after a backoff.
  const untilDone = async (work: () => Promise<void>, path: string, shownAs: string) => {
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await limit(work);
      } catch (error) {
        // Stopping: the file stays where it is for the next watcher.
        if (stopping.signal.aborted) return;
        const retryInMs = Math.min(retry.firstMs * 2 ** (attempt - 1), retry.maxMs);
        options.log.error({ err: error, path, attempt, retryInMs }, 'a dropped file could not be processed; it is tried again');
        options.onFile?.(shownAs, { kind: 'failed', error, retryInMs });
        await delay(retryInMs, undefined, { signal: stopping.signal }).catch(() => {});
        if (stopping.signal.aborted) return;
      }
    }
  };
  const track = (work: () => Promise<void>, path: string, shownAs: string) => {
    const done = untilDone(work, path, shownAs);
    inFlight.add(done);
    void done.finally(() => inFlight.delete(done));
  };
  const ingest = (file: DroppedFile, fresh: boolean) => track(() => ingestFile(context, folder, file, { fresh, ...ingestOptions }), file.relativePath, file.shownAs);

  for (const file of await folder.leftInProcessing()) ingest(file, false);

  const watcher = watch(join(root, 'inbox'), {
    ignoreInitial: false,
    // A link is reported as itself (and refused by ingestFile), never followed out of the folder.
    followSymlinks: false,
    awaitWriteFinish: { stabilityThreshold: options.stableMs, pollInterval: Math.min(100, options.stableMs) },
    ignored: (path, stats) => stats?.isFile() === true && !isManifestName(basename(path)),
  });
  // Every entry named *.csv is taken, whatever it is: ingestFile reads regular files only and moves
  // anything else (a link, a FIFO, a folder) to rejected/ unread, saying why.
  const take = (path: string) => {
    if (!isManifestName(basename(path))) return;
    let file: DroppedFile;
    try {
      file = folder.inboxFile(path);
    } catch (error) {
      options.log.warn({ path, err: error }, 'dropped file is not in a provider/account folder; left in place');
      options.onFile?.(relative(root, path), { kind: 'left', reason: error instanceof Error ? error.message : String(error) });
      return;
    }
    // Claimed once; from then on its ingest is tried again from processing/ where it failed.
    track(async () => {
      if (await folder.claim(path, file)) ingest(file, true);
    }, path, file.shownAs);
  };
  watcher.on('add', take);
  watcher.on('addDir', take);
  await new Promise<void>((resolve) => watcher.once('ready', resolve));

  return {
    async close() {
      stopping.abort();
      await watcher.close();
      await Promise.allSettled([...inFlight]);
    },
  };
}
