import { z } from 'zod';
import type { RedisClient } from '../redis/connection.js';
import type { RedisKeys } from '../redis/keys.js';

/**
 * What Redis keeps of an archived batch (RedisKeys.archivedBatches, in the index's slot): where its
 * folder is under the archive folder, the SHA-256 of its SHA256SUMS, and its batch record, so lists,
 * status and totals read it without opening a file. A few hundred bytes per batch, not per payment.
 */
export const archivedBatch = z.object({
  folder: z.string().min(1),
  sums_sha256: z.string().regex(/^[0-9a-f]{64}$/),
  archived_at: z.string(),
  /** The batch record's hash fields as they were when it was archived. */
  record: z.record(z.string(), z.string()),
  rows: z.number().int(),
  payments: z.number().int(),
  audit: z.number().int(),
  /** The stream ids of its first and last audit entries: which archives a period of the trail opens. */
  audit_first: z.string().optional(),
  audit_last: z.string().optional(),
});
export type ArchivedBatch = z.infer<typeof archivedBatch>;

export class ArchiveIndex {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: RedisKeys,
  ) {}

  /** Recorded once the batch's files are written and flushed to disk: from then on readers use them where Redis has nothing. */
  async record(batchId: string, batch: ArchivedBatch): Promise<void> {
    await this.redis.hset(this.keys.archivedBatches(), batchId, JSON.stringify(batch));
  }

  async get(batchId: string): Promise<ArchivedBatch | undefined> {
    return (await this.getMany([batchId]))[0];
  }

  /** In order; undefined for a batch not archived. */
  async getMany(batchIds: readonly string[]): Promise<(ArchivedBatch | undefined)[]> {
    if (batchIds.length === 0) return [];
    const found = await this.redis.hmget(this.keys.archivedBatches(), ...batchIds);
    return found.map((json) => (json === null ? undefined : archivedBatch.parse(JSON.parse(json))));
  }

  /** Every archived batch by id (the audit trail picks those whose entries fall in its period). */
  async all(): Promise<Map<string, ArchivedBatch>> {
    const all = await this.redis.hgetall(this.keys.archivedBatches());
    return new Map(Object.entries(all).map(([batchId, json]) => [batchId, archivedBatch.parse(JSON.parse(json))]));
  }
}
