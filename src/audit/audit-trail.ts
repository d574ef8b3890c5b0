import type { Redis } from 'ioredis';
import type { RedisKeys } from '../redis/keys.js';
import { type AuditEntry, auditEntry } from './audit-entry.js';

/** Entries read from Redis at a time: memory stays flat however long the trail grows. */
const PAGE = 500;

/** Which entries: one batch's, and those appended from `fromMs` up to (not including) `untilMs`, by Redis's clock. */
export interface AuditFilter {
  batchId?: string;
  fromMs?: number;
  untilMs?: number;
}

/**
 * The audit trail in the order its entries were appended (audit/audit-entry.ts), a page at a time.
 * The stream's ids are Redis's clock, so a period is a range of ids; one batch's entries are picked
 * out of it as they pass.
 */
/** Where the trail is read from: a connection and the program's keys (a StipendContext is one). */
export interface AuditSource {
  redis: Redis;
  keys: RedisKeys;
}

export async function* auditEntries(source: AuditSource, filter: AuditFilter = {}): AsyncGenerator<AuditEntry> {
  // An id given as milliseconds alone starts at that millisecond's first entry and, as the end,
  // ends with its last.
  let start = filter.fromMs === undefined ? '-' : String(filter.fromMs);
  const end = filter.untilMs === undefined ? '+' : String(filter.untilMs - 1);
  for (;;) {
    const page = await source.redis.xrange(source.keys.audit(), start, end, 'COUNT', PAGE);
    for (const [id, fields] of page) {
      const entry = auditEntry.parse({ id, ...fieldsOf(fields) });
      if (filter.batchId === undefined || entry.batch_id === filter.batchId) yield entry;
    }
    if (page.length < PAGE) return;
    start = `(${page.at(-1)![0]}`;
  }
}

/** The days a period names (UTC, both included) as AuditFilter's milliseconds; an end not given stays open. */
export function periodOfDays(from?: string, to?: string): Pick<AuditFilter, 'fromMs' | 'untilMs'> {
  return {
    ...(from === undefined ? {} : { fromMs: Date.parse(`${from}T00:00:00Z`) }),
    ...(to === undefined ? {} : { untilMs: Date.parse(`${to}T00:00:00Z`) + 86_400_000 }),
  };
}

function fieldsOf(flat: string[]): Record<string, string> {
  const fields: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) fields[flat[i]!] = flat[i + 1]!;
  return fields;
}
