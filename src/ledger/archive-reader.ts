import type { AuditEntry } from '../audit/audit-entry.js';
import { auditEntry } from '../audit/audit-entry.js';
import type { ArchivedAudit } from '../audit/audit-trail.js';
import type { LedgerArchive } from './archived.js';
import { LEDGER_FILE, readBatchFile } from './archive-files.js';
import type { ArchivedBatch, ArchiveIndex } from './archive-index.js';
import { type ArchivedLedger, parseLedgerFile } from './archive-ledger-file.js';

/** Archived ledgers kept parsed in memory: a report or an export reads one batch many times over. */
const CACHED = 4;

/** Reads archived batches for the ledger and the audit trail, checking every file before use. */
export class ArchiveReader implements LedgerArchive, ArchivedAudit {
  private readonly cache = new Map<string, Promise<ArchivedLedger>>();

  constructor(
    readonly index: ArchiveIndex,
    /** The archive's folder (config archive.dir). */
    readonly dir: string,
  ) {}

  async records(batchIds: readonly string[]): Promise<(Record<string, string> | undefined)[]> {
    return (await this.index.getMany(batchIds)).map((batch) => (batch === undefined ? undefined : { ...batch.record, archived_at: batch.archived_at }));
  }

  async contents(batchId: string): Promise<ArchivedLedger | undefined> {
    const batch = await this.index.get(batchId);
    return batch === undefined ? undefined : this.ledger(batchId, batch);
  }

  /** The batch's ledger file, read, checked and parsed once while it stays among the last few read. */
  ledger(batchId: string, batch: ArchivedBatch): Promise<ArchivedLedger> {
    let read = this.cache.get(batchId);
    if (read === undefined) {
      read = readBatchFile(this.dir, batch.folder, batch.sums_sha256, LEDGER_FILE).then((text) => parseLedgerFile(text, batch.folder));
      read.catch(() => this.cache.delete(batchId));
      this.cache.set(batchId, read);
      if (this.cache.size > CACHED) this.cache.delete(this.cache.keys().next().value!);
    } else {
      // Most recently used last.
      this.cache.delete(batchId);
      this.cache.set(batchId, read);
    }
    return read;
  }

  async spans(): Promise<{ batchId: string; first: string; last: string }[]> {
    const spans: { batchId: string; first: string; last: string }[] = [];
    for (const [batchId, batch] of await this.index.all()) {
      if (batch.audit_first !== undefined && batch.audit_last !== undefined) spans.push({ batchId, first: batch.audit_first, last: batch.audit_last });
    }
    return spans;
  }

  async entries(batchId: string): Promise<AuditEntry[]> {
    const ledger = await this.contents(batchId);
    return (ledger?.audit ?? []).map(({ id, fields }) => auditEntry.parse({ id, ...fields }));
  }
}
