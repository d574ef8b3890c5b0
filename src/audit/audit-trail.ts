import type { Redis } from 'ioredis';
import type { RedisKeys } from '../redis/keys.js';
import { type AuditEntry, type AuditEvent, auditEntry } from './audit-entry.js';

/** Entries read from Redis at a time: memory stays flat however long the trail grows. */
const PAGE = 500;

/**
 * Which entries: one batch's, and those appended from `fromMs` up to (not including) `untilMs`, by
 * Redis's clock; of one event; whose identity contains `identity` (ignoring case).
 */
export interface AuditFilter {
  batchId?: string;
  fromMs?: number;
  untilMs?: number;
  event?: AuditEvent;
  identity?: string;
}

/** Where the trail is read from: a connection and the program's keys (a StipendContext is one). */
export interface AuditSource {
  redis: Redis;
  keys: RedisKeys;
}

/**
 * The audit trail in the order its entries were appended (audit/audit-entry.ts), a page at a time.
 * The stream's ids are Redis's clock, so a period is a range of ids; one batch's (one event's, one
 * identity's) entries are picked out of it as they pass.
 */
export async function* auditEntries(source: AuditSource, filter: AuditFilter = {}): AsyncGenerator<AuditEntry> {
  // An id given as milliseconds alone starts at that millisecond's first entry and, as the end,
  // ends with its last.
  let start = filter.fromMs === undefined ? '-' : String(filter.fromMs);
  const end = filter.untilMs === undefined ? '+' : String(filter.untilMs - 1);
  for (;;) {
    const page = await source.redis.xrange(source.keys.audit(), start, end, 'COUNT', PAGE);
    for (const [id, fields] of page) {
      const entry = auditEntry.parse({ id, ...fieldsOf(fields) });
      if (matches(entry, filter)) yield entry;
    }
    if (page.length < PAGE) return;
    start = `(${page.at(-1)![0]}`;
  }
}

/**
 * The same entries newest first (XREVRANGE), starting just before the entry `beforeId` when given:
 * the console shows the trail a page at a time from its end without reading what comes before.
 */
export async function* auditEntriesNewestFirst(source: AuditSource, filter: AuditFilter = {}, beforeId?: string): AsyncGenerator<AuditEntry> {
  const untilEnd = filter.untilMs === undefined ? '+' : String(filter.untilMs - 1);
  // A cursor past the period's end (a hand-edited address) starts at the period's end instead.
  let end = beforeId === undefined || (filter.untilMs !== undefined && Number(beforeId.split('-')[0]) >= filter.untilMs) ? untilEnd : `(${beforeId}`;
  const start = filter.fromMs === undefined ? '-' : String(filter.fromMs);
  for (;;) {
    const page = await source.redis.xrevrange(source.keys.audit(), end, start, 'COUNT', PAGE);
    for (const [id, fields] of page) {
      const entry = auditEntry.parse({ id, ...fieldsOf(fields) });
      if (matches(entry, filter)) yield entry;
    }
    if (page.length < PAGE) return;
    end = `(${page.at(-1)![0]}`;
  }
}

function matches(entry: AuditEntry, filter: AuditFilter): boolean {
  return (filter.batchId === undefined || entry.batch_id === filter.batchId)
    && (filter.event === undefined || entry.event === filter.event)
    && (filter.identity === undefined || entry.identity.toLowerCase().includes(filter.identity.toLowerCase()));
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
