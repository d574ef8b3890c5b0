import { basename, dirname } from 'node:path';
import { stringify } from 'csv-stringify/sync';
import type { Actor } from '../audit/actor.js';
import { type SubmitProgress, type SubmitResult, submitManifest } from '../batches/submit.js';
import { waitForBatch } from '../batches/wait.js';
import type { StipendContext } from '../context.js';
import type { BatchRecord } from '../ledger/batches.js';
import type { Logger } from '../log.js';
import { formatProblem, type ManifestScan, sha256File } from '../manifest/index.js';
import { OtherAccountDuplicateError } from '../queue/enqueue-errors.js';
import { tryLock } from '../redis/lock.js';
import { writeReconciliation } from '../reports/reconciliation.js';
import { safeCell } from '../reports/safe-cell.js';
import type { DropFolder, DroppedFile } from './drop-folder.js';
import { writeNoteBeside } from './note-beside.js';
import { takeOwnCopy } from './regular-file.js';

/**
 * What happens to a dropped file, for people (`stipend watch` prints a line for each; the JSON log
 * says the same for programs). Paths are as DropFolder.path gives them.
 */
export type FileEvent =
  | { kind: 'submitting'; progress: SubmitProgress }
  /** `before`: an earlier run (or attempt) queued it; it is followed, not submitted again. */
  | { kind: 'queued'; batch: BatchRecord; before: boolean }
  | { kind: 'paying'; batch: BatchRecord }
  | { kind: 'paid'; batch: BatchRecord; archived: string; report: string }
  /**
   * `errors`: the .errors.csv beside it. `scan` is missing for an entry that was not read (not a
   * regular file), and `refusal` then says why.
   */
  | { kind: 'rejected'; scan?: ManifestScan; refusal?: string; errors: string }
  /** `account`: the provider's other account, when that is where it was paid; `note`: the .duplicate.txt beside it. */
  | { kind: 'duplicate'; batchId: string; account?: string; note: string }
  /** The watcher tries it again after `retryInMs`. */
  | { kind: 'failed'; error: unknown; retryInMs: number }
  /** Not a file the watcher can take (e.g. not in a provider's folder); left where it is. */
  | { kind: 'left'; reason: string };

/** Hears a file's events, the file named as people know it (DroppedFile.shownAs). */
export type FileListener = (shownAs: string, event: FileEvent) => void;

/**
 * One claimed file in processing/, taken to its end, the same for the watcher and scheduled runs:
 * rejected/ unread (not a regular file: a link, a FIFO, a folder), duplicates/ (the same file was
 * paid before), rejected/ (with its errors), or paid, its report in
 * outbox/ and the file in archive/. Worked on under a lease in Redis, so no two processes take the
 * same file. `fresh`: claimed from the inbox just now; else left in processing/ by an earlier run,
 * whose batch is followed (or its interrupted enqueue finished), never submitted twice.
 */
export async function ingestFile(
  context: StipendContext,
  folder: DropFolder,
  file: DroppedFile,
  /** `submittedBy`: the service that submits what it ingests (`service:watch@host`, a schedule's), recorded as its submitter. */
  options: { fresh: boolean; leaseMs: number; signal: AbortSignal; log: Logger; submittedBy: Actor; onFile?: FileListener },
): Promise<void> {
  const { fresh } = options;
  const tell = (event: FileEvent) => options.onFile?.(file.shownAs, event);
  const { account, relativePath } = file;
  const lease = await tryLock(context.redis, context.keys.watchLease(relativePath), options.leaseMs);
  if (!lease) return; // another process is working on it
  const renewal = setInterval(() => void lease.renew(), options.leaseMs / 3);
  try {
    const path = folder.path('processing', relativePath);
    const toRejected = async (rows: ErrorRow[], event: { scan?: ManifestScan; refusal?: string }) => {
      const errors = await writeNoteBeside(await folder.move('processing', 'rejected', relativePath), '.errors.csv', errorsCsv(rows));
      options.log.info({ file: relativePath, reason: event.refusal }, 'dropped file rejected: moved to rejected/ with its errors');
      tell({ kind: 'rejected', errors, ...event });
    };
    // Only a regular file is read, and only through the handle that was checked (regular-file.ts).
    const { refused } = await takeOwnCopy(path);
    if (refused !== undefined) return await toRejected([{ line: 0, column: '', problem: refused }], { refusal: refused });
    const earlier = await context.batches.ofFile(account.provider, account.name, await sha256File(path));
    // The batch an earlier attempt of this very claim made (a failed ingest taken again): its own.
    const own = earlier !== undefined && earlier.source === basename(relativePath);
    // The same file again is a duplicate, unless its batch was canceled before paying anything, or
    // its enqueue was abandoned (the rows it never queued were released to be paid again).
    const toDuplicates = async (note: string, batchId: string, account?: string) => {
      const written = await writeNoteBeside(await folder.move('processing', 'duplicates', relativePath), '.duplicate.txt', `${note}\n`);
      options.log.info({ file: relativePath, batchId }, 'dropped file was paid before: moved to duplicates/');
      tell({ kind: 'duplicate', batchId, note: written, ...(account === undefined ? {} : { account }) });
    };
    if (fresh && earlier && !own && earlier.state !== 'canceled' && earlier.abandoned_at === undefined) {
      const note = `${basename(relativePath)} is the same file as ${earlier.source}, paid as batch ${earlier.batch_id} (created ${earlier.created_at}); nothing was paid again.`;
      return await toDuplicates(note, earlier.batch_id);
    }
    // A file an earlier run (or attempt) had already queued in full is followed, not submitted again.
    const follow = earlier !== undefined && earlier.state !== 'enqueuing' && (own || (!fresh && earlier.state === 'enqueued'));
    let batchId = follow ? earlier.batch_id : undefined;
    if (batchId === undefined) {
      const onProgress = (progress: SubmitProgress) => tell({ kind: 'submitting', progress });
      const result = await submitManifest(context, { file: path, account, onProgress, submittedBy: options.submittedBy }).catch((error: unknown) => {
        // Paid through another account of the provider: a duplicate for a person to look at, not
        // something a retry would change.
        if (error instanceof OtherAccountDuplicateError) return error;
        throw error;
      });
      if (result instanceof OtherAccountDuplicateError) return await toDuplicates(`${basename(relativePath)}: ${result.message}`, result.batchId, result.account);
      if (!result.accepted) return await toRejected(problemRows(result), { scan: result.scan, ...(result.refusal === undefined ? {} : { refusal: result.refusal }) });
      batchId = result.batchId;
    }
    options.log.info({ file: relativePath, batchId }, 'dropped file queued; waiting for its payments');
    if (options.onFile) tell({ kind: 'queued', batch: await context.batches.get(batchId), before: follow });
    const batch = await waitForBatch(context, batchId, { signal: options.signal, pollMs: 500, onProgress: (paying) => tell({ kind: 'paying', batch: paying }) });
    const report = await writeReconciliation(context, batchId, folder.path('outbox', dirname(relativePath)));
    const archived = await folder.move('processing', 'archive', relativePath);
    options.log.info({ file: relativePath, batchId }, 'dropped file paid: archived, report in outbox/');
    tell({ kind: 'paid', batch, archived, report: report.csv });
  } finally {
    clearInterval(renewal);
    await lease.release();
  }
}

/** A message as formatProblem shows it (control characters escaped), without its line and column. */
function oneLine(message: string): string {
  return formatProblem({ line: 0, message }).replace(/^line 0: /, '');
}

/** A line of rejected/<name>.errors.csv; line 0 for what is about the whole file. */
interface ErrorRow {
  line: number;
  column: string;
  problem: string;
}

/** A rejected manifest's problems, and why it was refused when it was valid. */
function problemRows(result: Extract<SubmitResult, { accepted: false }>): ErrorRow[] {
  const { scan, refusal } = result;
  const rows = [...scan.fileProblems, ...scan.rowProblems].map((p) => ({ line: p.line, column: p.column ?? '', problem: oneLine(p.message) }));
  if (refusal) rows.push({ line: 0, column: '', problem: `refused: ${refusal}` });
  if (scan.rowProblemCount > scan.rowProblems.length) rows.push({ line: 0, column: '', problem: `… and ${scan.rowProblemCount - scan.rowProblems.length} more row problems` });
  return rows;
}

/** rejected/<name>.errors.csv: one line per problem (line, column, problem), formula-safe. */
function errorsCsv(rows: ErrorRow[]): string {
  return stringify(rows, { header: true, columns: ['line', 'column', 'problem'], cast: { string: safeCell } });
}
