import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { BatchNotFoundError } from '../errors.js';
import type { BatchRow } from './batch-rows.js';
import type { LedgerKeys } from './keys.js';
import { FINAL_STATUSES, type FinalStatus } from './payments.js';

/**
 * The batch record: where a batch came from and its running counts. It is written before any job is
 * queued (state `enqueuing`) and marked `enqueued` once every row is recorded and queued; the
 * per-status counts (n_<status>, c_<status> in cents) are kept by the payment ledger's finalize.
 */

const count = z.coerce.number().int().default(0);
export const batchRecord = z.object({
  batch_id: z.string(),
  provider: z.string(),
  account: z.string(),
  source: z.string(),
  sha256: z.string(),
  created_at: z.string(),
  /**
   * enqueuing → enqueued, or enqueuing → awaiting_approval → enqueued | canceled; an enqueue cut short
   * and abandoned (`stipend cancel`) goes enqueuing → enqueued, or canceled if it needed approval.
   */
  state: z.enum(['enqueuing', 'awaiting_approval', 'enqueued', 'canceled']),
  /** Who submitted the batch, and who approved or canceled it (maker-checker). */
  submitted_by: z.string().optional(),
  approved_by: z.string().optional(),
  approved_at: z.string().optional(),
  canceled_by: z.string().optional(),
  /** The account's approval rule held the batch's payments (no job is added until it is approved). */
  needs_approval: z.literal('1').optional(),
  /**
   * An enqueue cut short and given up (`stipend cancel`): who and when, and how many payments it had
   * claimed without queuing, released for a later manifest (counted as each is released).
   */
  abandoned_by: z.string().optional(),
  abandoned_at: z.string().optional(),
  released: count,
  rows_total: count,
  /** Payments this batch owns and will settle. */
  accepted: count,
  accepted_cents: count,
  rejected: count,
  /** Rows whose payment another batch already holds. */
  duplicates: count,
  /** Accepted payments with a final status. */
  final: count,
  /** The last manifest line whose row is recorded and queued: where an interrupted enqueue resumes. */
  enqueued_line: count,
  /** Late or second `paid` answers the ledger recorded as conflicts (see the payment's conflict_*). */
  n_conflict: count,
  ...Object.fromEntries(FINAL_STATUSES.flatMap((s) => [[`n_${s}`, count], [`c_${s}`, count]])),
});
export type BatchRecord = z.infer<typeof batchRecord> & Record<`n_${FinalStatus}` | `c_${FinalStatus}`, number>;

export function newBatchId(at = new Date()): string {
  const stamp = at.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${stamp}-${randomBytes(3).toString('hex')}`;
}

// KEYS: batch, rows, claims set. ARGV: after, lastLine, accepted, cents, rejected, duplicates, the
// number of rows, the rows, then the payment ids they record (no longer claims waiting for a row).
// Returns 'ok', or the batch's state and enqueued_line that refused the chunk.
const RECORD_CHUNK = `local state = redis.call('HGET', KEYS[1], 'state') or 'missing'
local at = redis.call('HGET', KEYS[1], 'enqueued_line') or '0'
if state ~= 'enqueuing' or tonumber(at) ~= tonumber(ARGV[1]) then return {state, at} end
local rows = tonumber(ARGV[7])
if rows > 0 then redis.call('RPUSH', KEYS[2], unpack(ARGV, 8, 7 + rows)) end
if #ARGV > 7 + rows then redis.call('SREM', KEYS[3], unpack(ARGV, 8 + rows)) end
redis.call('HINCRBY', KEYS[1], 'accepted', ARGV[3])
redis.call('HINCRBY', KEYS[1], 'accepted_cents', ARGV[4])
redis.call('HINCRBY', KEYS[1], 'rejected', ARGV[5])
redis.call('HINCRBY', KEYS[1], 'duplicates', ARGV[6])
redis.call('HSET', KEYS[1], 'enqueued_line', ARGV[2])
return 'ok'`;

export class BatchLedger {
  constructor(
    private readonly redis: Redis,
    private readonly keys: LedgerKeys,
  ) {}

  async create(batch: { batchId: string; provider: string; account: string; source: string; sha256: string; rowsTotal: number; submittedBy?: string; needsApproval?: boolean }): Promise<void> {
    const createdAt = new Date();
    await this.redis
      .multi()
      .hset(this.keys.batch(batch.batchId), {
        batch_id: batch.batchId,
        provider: batch.provider,
        account: batch.account,
        source: batch.source,
        sha256: batch.sha256,
        created_at: createdAt.toISOString(),
        state: 'enqueuing',
        rows_total: batch.rowsTotal,
        ...(batch.submittedBy === undefined ? {} : { submitted_by: batch.submittedBy }),
        ...(batch.needsApproval ? { needs_approval: '1' } : {}),
      })
      .zadd(this.keys.batches(), createdAt.getTime(), batch.batchId)
      .sadd(this.keys.openBatches(), batch.batchId)
      .set(this.keys.batchOfFile(batch.provider, batch.account, batch.sha256), batch.batchId)
      .exec();
  }

  /** The latest batch made from this exact file (by SHA-256) for the account, if any. */
  async ofFile(provider: string, account: string, sha256: string): Promise<BatchRecord | undefined> {
    const batchId = await this.redis.get(this.keys.batchOfFile(provider, account, sha256));
    return batchId === null ? undefined : this.get(batchId).catch(() => undefined);
  }

  /** The batch made from this file whose enqueue was cut short, if any: it resumes instead of a new one. */
  async interruptedFor(provider: string, account: string, sha256: string): Promise<BatchRecord | undefined> {
    const batch = await this.ofFile(provider, account, sha256);
    return batch?.state === 'enqueuing' ? batch : undefined;
  }

  /**
   * Records a chunk of rows, its counts and the enqueue's progress together (one script): after a
   * crash the batch's rows and counts agree, and the enqueue resumes after `lastLine`. A compare-and-
   * set: recorded only while the batch is enqueuing and queued up to `after` exactly (0 for its first
   * chunk), the line this enqueue last recorded; so of two enqueues of one batch (one whose lock was
   * taken over) each chunk is recorded once. Returns undefined when recorded, else what it found.
   */
  async recordChunk(
    batchId: string,
    rows: BatchRow[],
    counts: { accepted: number; acceptedCents: number; rejected: number; duplicates: number },
    lastLine: number,
    after = 0,
  ): Promise<{ state: string; enqueuedLine: number } | undefined> {
    const recorded = rows.flatMap((r) => (r.s === 'payment' ? [r.p] : []));
    const answer = (await this.redis.eval(
      RECORD_CHUNK, 3, this.keys.batch(batchId), this.keys.batchRows(batchId), this.keys.batchClaims(batchId),
      after, lastLine, counts.accepted, counts.acceptedCents, counts.rejected, counts.duplicates, rows.length, ...rows.map((r) => JSON.stringify(r)), ...recorded,
    )) as [string, string] | 'ok';
    return answer === 'ok' ? undefined : { state: answer[0], enqueuedLine: Number(answer[1]) };
  }

  async openBatchIds(): Promise<string[]> {
    return this.redis.smembers(this.keys.openBatches());
  }

  async markSettled(batchId: string): Promise<void> {
    await this.redis.srem(this.keys.openBatches(), batchId);
  }

  async markEnqueued(batchId: string): Promise<void> {
    await this.redis.hset(this.keys.batch(batchId), 'state', 'enqueued');
  }

  /**
   * Ends an enqueue that recorded every row through `lastLine`: the batch moves on to `to`. False
   * when it is no longer this enqueue's to end (another enqueue recorded further, or it left enqueuing).
   */
  async finishEnqueue(batchId: string, to: 'enqueued' | 'awaiting_approval', lastLine: number): Promise<boolean> {
    const finished = await this.redis.eval(
      `if redis.call('HGET', KEYS[1], 'state') ~= 'enqueuing' then return 0 end
       if tonumber(redis.call('HGET', KEYS[1], 'enqueued_line') or '0') ~= tonumber(ARGV[2]) then return 0 end
       redis.call('HSET', KEYS[1], 'state', ARGV[1])
       redis.call('DEL', KEYS[2])
       return 1`,
      2, this.keys.batch(batchId), this.keys.batchClaims(batchId), to, lastLine,
    );
    return finished === 1;
  }

  /**
   * Ends an enqueue given up by an operator once its claims are settled (queue/abandon-enqueue.ts):
   * the batch is enqueued (what it queued is paid) or, one waiting for approval, canceled. False when
   * it was no longer enqueuing.
   */
  async abandon(batchId: string, to: 'enqueued' | 'canceled', by: string): Promise<boolean> {
    const fields = ['abandoned_by', by, 'abandoned_at', new Date().toISOString(), ...(to === 'canceled' ? ['canceled_by', by] : [])];
    const abandoned = await this.redis.eval(
      `if redis.call('HGET', KEYS[1], 'state') ~= 'enqueuing' then return 0 end
       redis.call('HSET', KEYS[1], 'state', ARGV[1], unpack(ARGV, 2))
       redis.call('DEL', KEYS[2])
       return 1`,
      2, this.keys.batch(batchId), this.keys.batchClaims(batchId), to, ...fields,
    );
    return abandoned === 1;
  }

  /**
   * Moves a batch awaiting approval to `to` (approved: enqueued; or canceled), atomically: of an
   * approval and a cancellation made at the same moment, exactly one wins. False when the batch was
   * not awaiting approval.
   */
  async decide(batchId: string, to: 'enqueued' | 'canceled', by: string): Promise<boolean> {
    const fields = to === 'enqueued' ? ['approved_by', by, 'approved_at', new Date().toISOString()] : ['canceled_by', by];
    const decided = await this.redis.eval(
      `if redis.call('HGET', KEYS[1], 'state') ~= 'awaiting_approval' then return 0 end
       redis.call('HSET', KEYS[1], 'state', ARGV[1], unpack(ARGV, 2))
       return 1`,
      1, this.keys.batch(batchId), to, ...fields,
    );
    return decided === 1;
  }

  async get(batchId: string): Promise<BatchRecord> {
    const hash = await this.redis.hgetall(this.keys.batch(batchId));
    if (Object.keys(hash).length === 0) throw new BatchNotFoundError(batchId);
    return batchRecord.parse(hash) as BatchRecord;
  }
}

/** Every accepted payment has a final status: the batch's report is complete. */
export function isSettled(batch: BatchRecord): boolean {
  return (batch.state === 'enqueued' || batch.state === 'canceled') && batch.final >= batch.accepted;
}
