import { StipendError } from '../errors.js';
import type { BatchRecord } from './batches.js';

/** An archived batch's files are missing, unreadable or not what was written: nothing is read from them. */
export class ArchiveDamagedError extends StipendError {
  constructor(folder: string, why: string) {
    super('ARCHIVE_DAMAGED', `the archive of this batch in ${folder} cannot be trusted: ${why}; restore the folder from a backup`);
  }
}

/** The archive's folder cannot be written (missing rights, a file in the way, a full disk): nothing left Redis. */
export class ArchiveWriteError extends StipendError {
  constructor(dir: string, cause: unknown) {
    super('ARCHIVE_UNWRITABLE', `cannot write the archive under ${dir} (${(cause as NodeJS.ErrnoException).code ?? String(cause)}): check archive.dir; nothing left Redis`, { cause });
  }
}

/** Another archive run (a command's, or the workers') is at work: one at a time. */
export class ArchiveBusyError extends StipendError {
  constructor() {
    super('ARCHIVE_BUSY', 'another archive run is at work (stipend archive, or a worker\'s daily one); nothing was archived by this one, try again once it ends');
  }
}

/** A change asked of a batch that was archived: its payments can no longer change. */
export class BatchArchivedError extends StipendError {
  constructor(batchId: string, archivedAt: string) {
    super('BATCH_ARCHIVED', `batch ${batchId} was archived on ${archivedAt.slice(0, 10)}; an archived batch is read-only (status, report, exports and audit still read it)`);
  }
}

/** Refuses a change to an archived batch, or one being archived, before anything is touched. */
export function refuseIfArchived(batch: BatchRecord): void {
  const since = batch.archived_at ?? batch.archiving;
  if (since !== undefined) throw new BatchArchivedError(batch.batch_id, since);
}
