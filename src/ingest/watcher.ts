import { writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { watch } from 'chokidar';
import { stringify } from 'csv-stringify/sync';
import pLimit from 'p-limit';
import { type SubmitResult, submitManifest, waitForBatch } from '../api.js';
import type { StipendContext } from '../context.js';
import type { Logger } from '../log.js';
import { formatProblem, sha256File } from '../manifest/index.js';
import { tryLock } from '../queue/redis-lock.js';
import { writeReconciliation } from '../reports/reconciliation.js';
import { safeCell } from '../reports/safe-cell.js';
import { DropFolder, type DroppedFile, isManifestName } from './drop-folder.js';

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
  const inFlight = new Set<Promise<void>>();
  const track = (work: () => Promise<void>) => {
    const done = limit(work).catch((error: unknown) => options.log.error({ err: error }, 'a dropped file could not be processed; it stays where it is'));
    inFlight.add(done);
    void done.finally(() => inFlight.delete(done));
  };

  for (const file of await folder.leftInProcessing()) track(() => ingest(file, false));

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
      if (await folder.claim(path, file)) await ingest(file, true);
    });
  });
  await new Promise<void>((resolve) => watcher.once('ready', resolve));

  /** `fresh`: claimed from the inbox just now; else left in processing/ by an earlier watcher. */
  async function ingest(file: DroppedFile, fresh: boolean): Promise<void> {
    const { account, relativePath } = file;
    const lease = await tryLock(context.redis, `${context.config.prefix}:watch:${relativePath}`, options.leaseMs);
    if (!lease) return; // another watcher is working on it
    const renewal = setInterval(() => void lease.renew(), options.leaseMs / 3);
    try {
      const path = folder.path('processing', relativePath);
      const earlier = await context.batches.ofFile(account.provider, account.name, await sha256File(path));
      if (fresh && earlier) {
        const note = `${basename(relativePath)} is the same file as ${earlier.source}, paid as batch ${earlier.batch_id} (created ${earlier.created_at}); nothing was paid again.\n`;
        await folder.move('processing', 'duplicates', relativePath);
        await writeFile(`${folder.path('duplicates', relativePath)}.duplicate.txt`, note);
        options.log.info({ file: relativePath, batchId: earlier.batch_id }, 'dropped file was paid before: moved to duplicates/');
        return;
      }
      // A file an earlier watcher had already queued in full is followed, not submitted again.
      let batchId = !fresh && earlier?.state === 'enqueued' ? earlier.batch_id : undefined;
      if (batchId === undefined) {
        const result = await submitManifest(context, { file: path, account });
        if (!result.accepted) {
          await folder.move('processing', 'rejected', relativePath);
          await writeFile(`${folder.path('rejected', relativePath)}.errors.csv`, errorsCsv(result));
          options.log.info({ file: relativePath }, 'dropped file rejected: moved to rejected/ with its errors');
          return;
        }
        batchId = result.batchId;
      }
      options.log.info({ file: relativePath, batchId }, 'dropped file queued; waiting for its payments');
      await waitForBatch(context, batchId, { signal: stopping.signal, pollMs: 500 });
      await writeReconciliation(context, batchId, folder.path('outbox', dirname(relativePath)));
      await folder.move('processing', 'archive', relativePath);
      options.log.info({ file: relativePath, batchId }, 'dropped file paid: archived, report in outbox/');
    } finally {
      clearInterval(renewal);
      await lease.release();
    }
  }

  return {
    async close() {
      stopping.abort();
      await watcher.close();
      await Promise.allSettled([...inFlight]);
    },
  };
}

/** A message as formatProblem shows it (control characters escaped), without its line and column. */
function oneLine(message: string): string {
  return formatProblem({ line: 0, message }).replace(/^line 0: /, '');
}

/** rejected/<name>.errors.csv: one line per problem (line, column, problem), formula-safe. */
function errorsCsv(result: Extract<SubmitResult, { accepted: false }>): string {
  const { scan, refusal } = result;
  const rows = [...scan.fileProblems, ...scan.rowProblems].map((p) => ({ line: p.line, column: p.column ?? '', problem: oneLine(p.message) }));
  if (refusal) rows.push({ line: 0, column: '', problem: `refused: ${refusal}` });
  if (scan.rowProblemCount > scan.rowProblems.length) rows.push({ line: 0, column: '', problem: `… and ${scan.rowProblemCount - scan.rowProblems.length} more row problems` });
  return stringify(rows, { header: true, columns: ['line', 'column', 'problem'], cast: { string: safeCell } });
}
