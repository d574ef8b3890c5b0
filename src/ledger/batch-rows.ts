import type { RedisClient } from '../redis/connection.js';
import { z } from 'zod';
import type { RedisKeys } from '../redis/keys.js';
import type { LedgerArchive } from './archived.js';

/**
 * One entry per manifest row, in file order, so the report lists every row of the manifest:
 * - payment: this batch owns the payment; its status lives in the payment record;
 * - duplicate: another batch already holds this payment; the report points at it;
 * - rejected: the row failed validation (--allow-partial) and was never queued.
 */
const batchRow = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('payment'), line: z.number().int(), paymentId: z.string() }),
  z.object({
    kind: z.literal('duplicate'),
    line: z.number().int(),
    paymentId: z.string(),
    payee: z.string(),
    amountCents: z.number().int(),
    /** The batch that holds the payment. */
    holderBatchId: z.string(),
  }),
  z.object({
    kind: z.literal('rejected'),
    line: z.number().int(),
    /** The row's problems as one line, for the report's message column. */
    message: z.string(),
    /** Each problem: its column (none for the whole row) and message; rows recorded before it have only `message`. */
    problems: z.array(z.object({ column: z.string().optional(), message: z.string() })).optional(),
    /** What the row's cells gave, where they could be read. */
    paymentId: z.string().optional(),
    payee: z.string().optional(),
    amountCents: z.number().int().optional(),
  }),
]);
export type BatchRow = z.infer<typeof batchRow>;
export type RejectedRow = Extract<BatchRow, { kind: 'rejected' }>;

/**
 * The row as the list stores it: one-letter keys, because a batch can have a million rows (the
 * bench counts the bytes of each). Rows already stored are read as they are, so these keys and
 * their order never change; nothing outside this file sees them.
 */
const storedRow = z
  .discriminatedUnion('s', [
    z.object({ s: z.literal('payment'), l: z.number().int(), p: z.string() }),
    z.object({ s: z.literal('duplicate'), l: z.number().int(), p: z.string(), y: z.string(), a: z.number().int(), h: z.string() }),
    z.object({
      s: z.literal('rejected'),
      l: z.number().int(),
      m: z.string(),
      q: z.array(z.object({ c: z.string().optional(), m: z.string() })).optional(),
      p: z.string().optional(),
      y: z.string().optional(),
      a: z.number().int().optional(),
    }),
  ])
  .transform((row): BatchRow => {
    switch (row.s) {
      case 'payment':
        return { kind: 'payment', line: row.l, paymentId: row.p };
      case 'duplicate':
        return { kind: 'duplicate', line: row.l, paymentId: row.p, payee: row.y, amountCents: row.a, holderBatchId: row.h };
      case 'rejected':
        return {
          kind: 'rejected', line: row.l, message: row.m,
          problems: row.q?.map((problem) => ({ column: problem.c, message: problem.m })),
          paymentId: row.p, payee: row.y, amountCents: row.a,
        };
    }
  });

/** The stored entry of a row, as every writer pushes it (JSON leaves out what is undefined). */
export function encodeBatchRow(row: BatchRow): string {
  switch (row.kind) {
    case 'payment':
      return JSON.stringify({ s: row.kind, l: row.line, p: row.paymentId });
    case 'duplicate':
      return JSON.stringify({ s: row.kind, l: row.line, p: row.paymentId, y: row.payee, a: row.amountCents, h: row.holderBatchId });
    case 'rejected':
      return JSON.stringify({
        s: row.kind, l: row.line, m: row.message,
        q: row.problems?.map((problem) => ({ c: problem.column, m: problem.message })),
        p: row.paymentId, y: row.payee, a: row.amountCents,
      });
  }
}

/** A stored entry's payment id, read bare: the bench's baseline report reads the list with no logic between. */
export function storedPaymentId(entry: string): string {
  return (JSON.parse(entry) as { p: string }).p;
}

const PAGE = 1000;

export class BatchRows {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: RedisKeys,
    /** Which account's slot holds a batch (BatchLedger.ownerOf). */
    private readonly batches: { ownerOf(batchId: string): Promise<{ provider: string; account: string }> },
    /** Batches moved out of Redis: their rows are read from the archive. */
    private readonly archive: LedgerArchive,
  ) {}

  /** Pages through the rows without loading the whole batch. */
  async *pages(batchId: string): AsyncGenerator<BatchRow[]> {
    const { provider, account } = await this.batches.ownerOf(batchId);
    const key = this.keys.batchRows(provider, account, batchId);
    for (let start = 0; ; start += PAGE) {
      const page = await this.redis.lrange(key, start, start + PAGE - 1);
      if (page.length === 0 && start === 0) {
        yield* this.archivedPages(batchId);
        return;
      }
      if (page.length === 0) return;
      yield page.map(decodeBatchRow);
      if (page.length < PAGE) return;
    }
  }

  /** An archived batch's rows (none for a batch with no rows, or not archived). */
  private async *archivedPages(batchId: string): AsyncGenerator<BatchRow[]> {
    const rows = (await this.archive.contents(batchId))?.rows ?? [];
    for (let start = 0; start < rows.length; start += PAGE) yield rows.slice(start, start + PAGE).map(decodeBatchRow);
  }
}

function decodeBatchRow(entry: string): BatchRow {
  return storedRow.parse(JSON.parse(entry));
}
