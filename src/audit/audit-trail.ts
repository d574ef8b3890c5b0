import type { RedisClient } from '../redis/connection.js';
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

type AccountOfBatch = { provider: string; account: string };

/**
 * The entries of archived batches (archive/), moved out of the streams into each batch's files: the
 * span of ids each batch's entries cover, and a batch's entries, oldest first.
 */
export interface ArchivedAudit {
  spans(): Promise<{ batchId: string; first: string; last: string }[]>;
  entries(batchId: string): Promise<AuditEntry[]>;
}

/** Where the trail is read from: a connection, the program's keys, the batch index and the archive (a StipendContext is one). */
export interface AuditSource {
  redis: RedisClient;
  keys: RedisKeys;
  /** The batch index (BatchLedger): which account's stream holds a batch's entries, and every account's. */
  batches: { ownerOf(batchId: string): Promise<AccountOfBatch>; accounts(): Promise<AccountOfBatch[]> };
  archive: ArchivedAudit;
}

/**
 * The audit trail in the order its entries were appended (audit/audit-entry.ts), a page at a time.
 * It is one stream per account (the decisions about its batches, in the account's slot) and one for
 * the console's people, merged by id. A stream's ids are its Redis server's clock, so a period is a
 * range of ids; one batch's (one event's, one identity's) entries are picked out as they pass.
 */
export async function* auditEntries(source: AuditSource, filter: AuditFilter = {}): AsyncGenerator<AuditEntry> {
  // An id given as milliseconds alone starts at that millisecond's first entry and, as the end,
  // ends with its last.
  const range = { start: filter.fromMs === undefined ? '-' : String(filter.fromMs), end: filter.untilMs === undefined ? '+' : String(filter.untilMs - 1) };
  const streams = (await streamsOf(source, filter)).map((key) => streamEntries(source.redis, key, range, 'oldest-first'));
  const archived = archivedEntries(source.archive, filter, () => true, 'oldest-first');
  for await (const entry of merged([...streams, archived], 'oldest-first')) if (matches(entry, filter)) yield entry;
}

/**
 * The same entries newest first (XREVRANGE), starting just before the entry `beforeId` when given:
 * the console shows the trail a page at a time from its end without reading what comes before.
 */
export async function* auditEntriesNewestFirst(source: AuditSource, filter: AuditFilter = {}, beforeId?: string): AsyncGenerator<AuditEntry> {
  const untilEnd = filter.untilMs === undefined ? '+' : String(filter.untilMs - 1);
  // A cursor past the period's end (a hand-edited address) starts at the period's end instead.
  const end = beforeId === undefined || (filter.untilMs !== undefined && Number(beforeId.split('-')[0]) >= filter.untilMs) ? untilEnd : `(${beforeId}`;
  const range = { start: filter.fromMs === undefined ? '-' : String(filter.fromMs), end };
  const streams = (await streamsOf(source, filter)).map((key) => streamEntries(source.redis, key, range, 'newest-first'));
  const before = (id: string) => !end.startsWith('(') || compareStreamIds(id, end.slice(1)) < 0;
  const archived = archivedEntries(source.archive, filter, before, 'newest-first');
  for await (const entry of merged([...streams, archived], 'newest-first')) if (matches(entry, filter)) yield entry;
}

type Order = 'oldest-first' | 'newest-first';

/** The streams that can hold the entries asked for: a batch's account's alone, the people's alone, or all. */
async function streamsOf(source: AuditSource, filter: AuditFilter): Promise<string[]> {
  const { keys } = source;
  if (filter.batchId !== undefined && filter.batchId !== '') {
    const owner = await source.batches.ownerOf(filter.batchId).catch(() => undefined);
    return owner === undefined ? [] : [keys.audit(owner.provider, owner.account)];
  }
  if (filter.event !== undefined && PEOPLE_EVENTS.has(filter.event)) return [keys.peopleAudit()];
  const accounts = (await source.batches.accounts()).map((owner) => keys.audit(owner.provider, owner.account));
  return filter.event === undefined ? [keys.peopleAudit(), ...accounts] : accounts;
}

const PEOPLE_EVENTS = new Set<AuditEvent>(['person_added', 'person_removed', 'password_reset']);

/**
 * The archived batches' entries in the filter's period (and passing `keep`), in order. A batch's
 * file is opened only once the entries before its span are given (the spans say where each batch's
 * entries start and end), so the newest page of the trail opens the newest archives alone.
 */
async function* archivedEntries(archive: ArchivedAudit, filter: AuditFilter, keep: (id: string) => boolean, order: Order): AsyncGenerator<AuditEntry> {
  if (filter.event !== undefined && PEOPLE_EVENTS.has(filter.event)) return;
  const inPeriod = (id: string) => {
    const ms = Number(id.split('-')[0]);
    return (filter.fromMs === undefined || ms >= filter.fromMs) && (filter.untilMs === undefined || ms < filter.untilMs);
  };
  const sign = order === 'oldest-first' ? 1 : -1;
  const startOf = (span: { first: string; last: string }) => (order === 'oldest-first' ? span.first : span.last);
  const spans = (await archive.spans())
    .filter((span) => (filter.batchId === undefined || filter.batchId === '' || span.batchId === filter.batchId)
      && (filter.fromMs === undefined || Number(span.last.split('-')[0]) >= filter.fromMs)
      && (filter.untilMs === undefined || Number(span.first.split('-')[0]) < filter.untilMs))
    .sort((a, b) => sign * compareStreamIds(startOf(a), startOf(b)));
  const open: { entries: AuditEntry[]; at: number }[] = [];
  let next = 0;
  for (;;) {
    let head: (typeof open)[number] | undefined;
    for (const batch of open) if (head === undefined || sign * compareStreamIds(batch.entries[batch.at]!.id, head.entries[head.at]!.id) < 0) head = batch;
    // A batch not yet opened whose span starts before the head may hold what comes first.
    if (next < spans.length && (head === undefined || sign * compareStreamIds(startOf(spans[next]!), head.entries[head.at]!.id) <= 0)) {
      const entries = (await archive.entries(spans[next]!.batchId)).filter((entry) => inPeriod(entry.id) && keep(entry.id));
      if (order === 'newest-first') entries.reverse();
      if (entries.length > 0) open.push({ entries, at: 0 });
      next += 1;
      continue;
    }
    if (head === undefined) return;
    yield head.entries[head.at]!;
    head.at += 1;
    if (head.at === head.entries.length) open.splice(open.indexOf(head), 1);
  }
}

/** One stream's entries in `range`, parsed. */
async function* streamEntries(redis: RedisClient, key: string, range: { start: string; end: string }, order: Order): AsyncGenerator<AuditEntry> {
  for await (const { id, fields } of storedEntries(redis, key, range, order)) yield auditEntry.parse({ id, ...fields });
}

/**
 * One stream's entries in `range` (inclusive ends, or exclusive with `(`; all of it by default) as
 * stored, PAGE at a time: what moving entries elsewhere (the archive, the key-layout upgrade) copies.
 */
export async function* storedEntries(
  redis: RedisClient, key: string, range = { start: '-', end: '+' }, order: Order = 'oldest-first',
): AsyncGenerator<{ id: string; fields: Record<string, string> }> {
  let { start, end } = range;
  for (;;) {
    const page = order === 'oldest-first' ? await redis.xrange(key, start, end, 'COUNT', PAGE) : await redis.xrevrange(key, end, start, 'COUNT', PAGE);
    for (const [id, fields] of page) yield { id, fields: fieldsOf(fields) };
    if (page.length < PAGE) return;
    if (order === 'oldest-first') start = `(${page.at(-1)![0]}`;
    else end = `(${page.at(-1)![0]}`;
  }
}

/** Entries of several streams as one, in id order: each stream is in order, so the next is always at one's head. */
async function* merged(streams: AsyncGenerator<AuditEntry>[], order: Order): AsyncGenerator<AuditEntry> {
  const heads = await Promise.all(streams.map(async (stream) => ({ stream, next: await stream.next() })));
  const sign = order === 'oldest-first' ? 1 : -1;
  for (;;) {
    let first: (typeof heads)[number] | undefined;
    for (const head of heads) {
      if (head.next.done) continue;
      if (first === undefined || sign * compareStreamIds(head.next.value.id, first.next.value!.id) < 0) first = head;
    }
    if (first === undefined) return;
    yield first.next.value!;
    first.next = await first.stream.next();
  }
}

/** Stream ids (`<ms>-<sequence>`) in the order Redis gives them. */
export function compareStreamIds(a: string, b: string): number {
  const [aMs, aSeq] = a.split('-').map(Number) as [number, number];
  const [bMs, bSeq] = b.split('-').map(Number) as [number, number];
  return aMs - bMs || aSeq - bSeq;
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
