import { basename, join } from 'node:path';
import { watch } from 'chokidar';
import pLimit from 'p-limit';
import type { StipendContext } from '../context.js';
import type { Logger } from '../log.js';
import { DropFolder, type DroppedFile, isManifestName } from './drop-folder.js';
import { ingestFile } from './ingest-file.js';

export interface WatcherOptions {
  /** A file counts as completely written once its size has not changed for this long. */
  stableMs: number;
  /** Files processed at once (each waits for its batch to be paid). */
  concurrency: number;
  /** How long a watcher's hold on a file in processing/ lasts without renewal (a crash frees it). */
  leaseMs: number;
  log: Logger;
}

/**
 * `stipend watch`: takes manifests dropped into <root>/inbox/ and pays them, once.
 *
 * - Only complete files are taken: *.csv (a file written under a temporary name and then renamed),
 *   whose size has been stable for `stableMs`.
 * - A file is claimed by moving it into processing/ (a rename: of two watchers, one wins) and is
 *   worked on under a lease in Redis, so two watchers never process the same file.
 * - The same file (by SHA-256) dropped again goes to duplicates/, naming the batch that paid it; an
 *   invalid one to rejected/ with <name>.errors.csv; a paid one to archive/, its report to outbox/.
 * - Files left in processing/ by a watcher that stopped are taken up again on start: the batch the
 *   file became is followed (or its interrupted enqueue finished), never submitted twice.
 */
export async function startWatcher(context: StipendContext, root: string, options: WatcherOptions): Promise<{ close(): Promise<void> }> {
  const folder = new DropFolder(root, context.config);
  await folder.prepare();
  const limit = pLimit(options.concurrency);
  const stopping = new AbortController();
  const ingestOptions = { leaseMs: options.leaseMs, signal: stopping.signal, log: options.log };
  const inFlight = new Set<Promise<void>>();
  const track = (work: () => Promise<void>) => {
    const done = limit(work).catch((error: unknown) => options.log.error({ err: error }, 'a dropped file could not be processed; it stays where it is'));
    inFlight.add(done);
    void done.finally(() => inFlight.delete(done));
  };

  for (const file of await folder.leftInProcessing()) track(() => ingestFile(context, folder, file, { fresh: false, ...ingestOptions }));

  const watcher = watch(join(root, 'inbox'), {
    ignoreInitial: false,
    awaitWriteFinish: { stabilityThreshold: options.stableMs, pollInterval: Math.min(100, options.stableMs) },
    ignored: (path, stats) => stats?.isFile() === true && !isManifestName(basename(path)),
  });
  watcher.on('add', (path) => {
    track(async () => {
      let file: DroppedFile;
      try {
        file = folder.inboxFile(path);
      } catch (error) {
        options.log.warn({ path, err: error }, 'dropped file is not in a provider/account folder; left in place');
        return;
      }
      if (await folder.claim(path, file)) await ingestFile(context, folder, file, { fresh: true, ...ingestOptions });
    });
  });
  await new Promise<void>((resolve) => watcher.once('ready', resolve));

  return {
    async close() {
      stopping.abort();
      await watcher.close();
      await Promise.allSettled([...inFlight]);
    },
  };
}
