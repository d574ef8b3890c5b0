import { createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { stringify } from 'csv-stringify';
import { AUDIT_COLUMNS } from '../audit/audit-entry.js';
import { type AuditFilter, auditEntries } from '../audit/audit-trail.js';
import type { StipendContext } from '../context.js';
import { safeCell } from './safe-cell.js';

/**
 * The audit trail's entries of a period as CSV (`export --with-audit`): one row per decision, in the
 * order they were made, every text cell formula-safe (a display name or a reason is typed by a
 * person). Streamed: memory stays flat however long the trail is. Returns how many rows it wrote.
 */
export async function writeAuditCsv(context: StipendContext, path: string, filter: AuditFilter): Promise<number> {
  let rows = 0;
  async function* lines() {
    for await (const entry of auditEntries(context, filter)) {
      rows += 1;
      yield entry;
    }
  }
  await pipeline(lines(), stringify({ header: true, columns: [...AUDIT_COLUMNS], cast: { string: safeCell } }), createWriteStream(path));
  return rows;
}
