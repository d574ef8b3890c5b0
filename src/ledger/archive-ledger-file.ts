import { z } from 'zod';
import { ArchiveDamagedError } from './archive-errors.js';

/**
 * ledger.jsonl.gz of an archived batch: one JSON object per line, as Redis held them, so they are
 * read back through the same schemas as live ones (ledger/, audit/): the batch record, each row as
 * the row list stored it (in file order), each payment record, each audit entry of the batch (in
 * the order appended), then an `end` line with the counts, which tells a whole file from a cut one.
 */
const line = z.discriminatedUnion('t', [
  z.object({ t: z.literal('batch'), hash: z.record(z.string(), z.string()) }),
  z.object({ t: z.literal('row'), stored: z.string() }),
  z.object({ t: z.literal('payment'), hash: z.record(z.string(), z.string()) }),
  z.object({ t: z.literal('audit'), id: z.string(), fields: z.record(z.string(), z.string()) }),
  z.object({ t: z.literal('end'), rows: z.number().int(), payments: z.number().int(), audit: z.number().int() }),
]);
type Line = z.infer<typeof line>;

/** A batch's archived ledger, read back. */
export interface ArchivedLedger {
  batch: Record<string, string>;
  /** Stored row entries (ledger/batch-rows.ts), in file order. */
  rows: string[];
  /** Payment records (hash fields) by payment id. */
  payments: Map<string, Record<string, string>>;
  /** Audit entries' ids and fields, oldest first. */
  audit: { id: string; fields: Record<string, string> }[];
}

export function ledgerLine(value: Line): string {
  return `${JSON.stringify(value)}\n`;
}

/** Parses ledger.jsonl.gz's text (already checked against its SHA-256); `where` names the folder in errors. */
export function parseLedgerFile(text: string, where: string): ArchivedLedger {
  const ledger: ArchivedLedger = { batch: {}, rows: [], payments: new Map(), audit: [] };
  let end: Extract<Line, { t: 'end' }> | undefined;
  for (const json of text.split('\n')) {
    if (json === '') continue;
    const parsed = line.safeParse(JSON.parse(json));
    if (!parsed.success) throw new ArchiveDamagedError(where, 'ledger.jsonl.gz holds a line this program does not know');
    const entry = parsed.data;
    if (entry.t === 'batch') ledger.batch = entry.hash;
    else if (entry.t === 'row') ledger.rows.push(entry.stored);
    else if (entry.t === 'payment') ledger.payments.set(entry.hash.payment_id ?? '', entry.hash);
    else if (entry.t === 'audit') ledger.audit.push({ id: entry.id, fields: entry.fields });
    else end = entry;
  }
  if (end === undefined || end.rows !== ledger.rows.length || end.payments !== ledger.payments.size || end.audit !== ledger.audit.length) {
    throw new ArchiveDamagedError(where, 'ledger.jsonl.gz is cut short');
  }
  return ledger;
}
