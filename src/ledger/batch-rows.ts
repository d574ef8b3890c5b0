import type { Redis } from 'ioredis';
import { z } from 'zod';
import type { RedisKeys } from '../redis/keys.js';

/**
 * One entry per manifest row, in file order, so the report lists every row of the manifest:
 * - payment: this batch owns the payment; its status lives in the payment record;
 * - duplicate: another batch already holds this payment; the report points at it;
 * - rejected: the row failed validation (--allow-partial) and was never queued.
 * Keys are short because a batch can have a million rows.
 */
export const batchRow = z.discriminatedUnion('s', [
  z.object({ s: z.literal('payment'), l: z.number().int(), p: z.string() }),
  /** h: the batch that holds the payment. */
  z.object({ s: z.literal('duplicate'), l: z.number().int(), p: z.string(), y: z.string(), a: z.number().int(), h: z.string() }),
  z.object({
    s: z.literal('rejected'),
    l: z.number().int(),
    /** The row's problems as one line, for the report's message column. */
    m: z.string(),
    /** Each problem: its column (none for the whole row) and message; rows recorded before it have only `m`. */
    q: z.array(z.object({ c: z.string().optional(), m: z.string() })).optional(),
    p: z.string().optional(),
    y: z.string().optional(),
    a: z.number().int().optional(),
  }),
]);
export type BatchRow = z.infer<typeof batchRow>;

const PAGE = 1000;

export class BatchRows {
  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
  ) {}

  /** Pages through the rows without loading the whole batch. */
  async *pages(batchId: string): AsyncGenerator<BatchRow[]> {
    for (let start = 0; ; start += PAGE) {
      const page = await this.redis.lrange(this.keys.batchRows(batchId), start, start + PAGE - 1);
      if (page.length === 0) return;
      yield page.map((entry) => batchRow.parse(JSON.parse(entry)));
      if (page.length < PAGE) return;
    }
  }
}
