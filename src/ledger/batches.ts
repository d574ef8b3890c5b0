import { randomBytes } from 'node:crypto';
import type { RedisClient } from '../redis/connection.js';
import { z } from 'zod';
import { type Actor, personHere } from '../audit/actor.js';
import { auditFields } from '../audit/audit-entry.js';
import { BatchNotFoundError } from '../errors.js';
import { formatUsd } from '../money.js';
import type { RedisKeys } from '../redis/keys.js';
import { readPipelined } from '../redis/read-pipelined.js';
import { scripted, type ScriptedRedis } from '../redis/scripts.js';
import type { LedgerArchive } from './archived.js';
import { type BatchRow, encodeBatchRow } from './batch-rows.js';
import { FINAL_STATUSES, type FinalStatus } from './payment-status.js';

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
   * and abandoned (`stipend cancel`) goes enqueuing → enqueued, or canceled if it needed approval. A
   * worker whose own approval rule needs approval the submitter's did not goes enqueued →
   * awaiting_approval (or holds an enqueuing batch, which then ends awaiting approval).
   */
  state: z.enum(['enqueuing', 'awaiting_approval', 'enqueued', 'canceled']),
  /**
   * Who submitted the batch, and who approved or canceled it (maker-checker): identities as
   * audit/actor.ts makes them (`alice@ops-1`, `service:watch@ops-1`), which approval compares, and
   * the name each gave with --by (`*_by_name`), which it does not.
   */
  submitted_by: z.string().optional(),
  submitted_by_name: z.string().optional(),
  approved_by: z.string().optional(),
  approved_by_name: z.string().optional(),
  approved_at: z.string().optional(),
  canceled_by: z.string().optional(),
  canceled_by_name: z.string().optional(),
  /** The valid rows' total when submitted: what every approval rule, the submitter's and each worker's, is applied to. */
  total_cents: z.coerce.number().int().optional(),
  /** The submitter's approval rule as it applied (approval/approval-rule.ts: none, always, above $X). */
  approval_rule: z.string().optional(),
  /**
   * No payment of the batch is sent until it is approved (`approved_by`): the submitter's rule held
   * it, or a worker's own rule did (`held_*`), checked in the script that marks each payment sending.
   */
  needs_approval: z.literal('1').optional(),
  /** The worker whose own approval rule held the batch, why, and when (redis/lua/includes/approvalFence.lua). */
  held_by: z.string().optional(),
  held_reason: z.string().optional(),
  held_at: z.string().optional(),
  /**
   * An enqueue cut short and given up (`stipend cancel`): who and when, and how many payments it had
   * claimed without queuing, released for a later manifest (counted as each is released).
   */
  abandoned_by: z.string().optional(),
  abandoned_by_name: z.string().optional(),
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
  /** When archiving the batch began (archive/): from then on its payments no longer change. */
  archiving: z.string().optional(),
  /** When its files were written (archive/): the batch is read from them, and read-only. */
  archived_at: z.string().optional(),
  /** Late or second `paid` answers the ledger recorded as conflicts (see the payment's conflict_*). */
  n_conflict: count,
  ...Object.fromEntries(FINAL_STATUSES.flatMap((s) => [[`n_${s}`, count], [`c_${s}`, count]])),
});
export type BatchRecord = z.infer<typeof batchRecord> & Record<`n_${FinalStatus}` | `c_${FinalStatus}`, number>;

export function newBatchId(at = new Date()): string {
  const stamp = at.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${stamp}-${randomBytes(3).toString('hex')}`;
}

/** The account a batch belongs to: whose slot holds its keys (redis/keys.ts). */
export interface BatchOwner {
  provider: string;
  account: string;
}

/** An account as the index names it: `provider/account`. */
export function ownerName(owner: BatchOwner): string {
  return `${owner.provider}/${owner.account}`;
}

function ownerNamed(name: string): BatchOwner {
  const at = name.indexOf('/');
  return { provider: name.slice(0, at), account: name.slice(at + 1) };
}

export class BatchLedger {
  private readonly redis: ScriptedRedis;
  /** A batch's account never changes: each is read from the index once per process. */
  private readonly owners = new Map<string, BatchOwner>();

  constructor(
    redis: RedisClient,
    private readonly keys: RedisKeys,
    /** Batches moved out of Redis: read where Redis has no record. */
    private readonly archive: LedgerArchive,
  ) {
    this.redis = scripted(redis);
  }

  /**
   * Records a new batch (state enqueuing) and its `submitted` audit entry at once. `totalCents`: the
   * valid rows' total; `approvalRule`: the submitter's rule as it applied (approval/approval-rule.ts).
   * The index (all batches, in a slot of its own) is written first: a crash before the batch's own
   * record leaves an id that names no batch, which every reader skips as it skips one being written.
   */
  async create(batch: {
    batchId: string; provider: string; account: string; source: string; sha256: string; rowsTotal: number;
    submittedBy?: Actor; totalCents?: number; approvalRule?: string; needsApproval?: boolean;
  }): Promise<void> {
    const createdAt = new Date();
    const by = batch.submittedBy ?? personHere();
    const owner = { provider: batch.provider, account: batch.account };
    const details = [
      `${batch.source}: ${batch.rowsTotal} rows`,
      ...(batch.totalCents === undefined ? [] : [`total ${formatUsd(batch.totalCents)}`]),
      ...(batch.approvalRule === undefined ? [] : [`approval rule ${batch.approvalRule}${batch.needsApproval ? ': approval needed' : ''}`]),
    ].join('; ');
    await this.redis
      .multi()
      .zadd(this.keys.batches(), createdAt.getTime(), batch.batchId)
      .hset(this.keys.batchAccounts(), batch.batchId, ownerName(owner))
      .sadd(this.keys.accounts(), ownerName(owner))
      .exec();
    this.owners.set(batch.batchId, owner);
    await this.redis
      .multi()
      .hset(this.keys.batch(batch.provider, batch.account, batch.batchId), {
        batch_id: batch.batchId,
        provider: batch.provider,
        account: batch.account,
        source: batch.source,
        sha256: batch.sha256,
        created_at: createdAt.toISOString(),
        state: 'enqueuing',
        rows_total: batch.rowsTotal,
        submitted_by: by.identity,
        ...(by.displayName === undefined ? {} : { submitted_by_name: by.displayName }),
        ...(batch.totalCents === undefined ? {} : { total_cents: batch.totalCents }),
        ...(batch.approvalRule === undefined ? {} : { approval_rule: batch.approvalRule }),
        ...(batch.needsApproval ? { needs_approval: '1' } : {}),
      })
      .sadd(this.keys.openBatches(batch.provider, batch.account), batch.batchId)
      .set(this.keys.batchOfFile(batch.provider, batch.account, batch.sha256), batch.batchId)
      .xadd(this.keys.audit(batch.provider, batch.account), '*', ...auditFields('submitted', by, { batchId: batch.batchId }, details))
      .exec();
  }

  /** The account whose slot holds the batch; BatchNotFoundError for an id no batch has. */
  async ownerOf(batchId: string): Promise<BatchOwner> {
    const known = this.owners.get(batchId);
    if (known !== undefined) return known;
    const name = await this.redis.hget(this.keys.batchAccounts(), batchId);
    if (name === null) throw new BatchNotFoundError(batchId);
    const owner = ownerNamed(name);
    this.owners.set(batchId, owner);
    return owner;
  }

  /** The owners of many batches in one read, in order; undefined for an id no batch has. */
  private async ownersOf(batchIds: readonly string[]): Promise<(BatchOwner | undefined)[]> {
    const missing = [...new Set(batchIds.filter((id) => !this.owners.has(id)))];
    if (missing.length > 0) {
      const names = await this.redis.hmget(this.keys.batchAccounts(), ...missing);
      for (const [i, name] of names.entries()) if (name !== null) this.owners.set(missing[i]!, ownerNamed(name));
    }
    return batchIds.map((id) => this.owners.get(id));
  }

  /** Every account that ever had a batch: what a read across accounts visits. */
  async accounts(): Promise<BatchOwner[]> {
    return (await this.redis.smembers(this.keys.accounts())).sort().map(ownerNamed);
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
    const { provider, account } = await this.ownerOf(batchId);
    const recorded = rows.flatMap((r) => (r.kind === 'payment' ? [r.paymentId] : []));
    const answer = (await this.redis.recordChunk(
      this.keys.batch(provider, account, batchId), this.keys.batchRows(provider, account, batchId), this.keys.batchClaims(provider, account, batchId),
      after, lastLine, counts.accepted, counts.acceptedCents, counts.rejected, counts.duplicates, rows.length, ...rows.map(encodeBatchRow), ...recorded,
    )) as [string, string] | 'ok';
    return answer === 'ok' ? undefined : { state: answer[0], enqueuedLine: Number(answer[1]) };
  }

  /** The batches not yet known to be settled, of every account. */
  async openBatchIds(): Promise<string[]> {
    const perAccount = await Promise.all((await this.accounts()).map(async (owner) => {
      const ids = await this.redis.smembers(this.keys.openBatches(owner.provider, owner.account));
      for (const id of ids) this.owners.set(id, owner);
      return ids;
    }));
    return perAccount.flat();
  }

  async markSettled(batchId: string): Promise<void> {
    const { provider, account } = await this.ownerOf(batchId);
    await this.redis.srem(this.keys.openBatches(provider, account), batchId);
  }

  async markEnqueued(batchId: string): Promise<void> {
    const { provider, account } = await this.ownerOf(batchId);
    await this.redis.hset(this.keys.batch(provider, account, batchId), 'state', 'enqueued');
  }

  /**
   * Ends an enqueue that recorded every row through `lastLine`: the batch moves on to `to`, or awaits
   * approval all the same when a worker's own rule held it meanwhile (needs_approval, not approved).
   * False when it is no longer this enqueue's to end (another enqueue recorded further, or it left
   * enqueuing).
   */
  async finishEnqueue(batchId: string, to: 'enqueued' | 'awaiting_approval', lastLine: number): Promise<boolean> {
    const { provider, account } = await this.ownerOf(batchId);
    const finished = await this.redis.finishEnqueue(this.keys.batch(provider, account, batchId), this.keys.batchClaims(provider, account, batchId), to, lastLine);
    return finished === 1;
  }

  /**
   * Ends an enqueue given up by an operator once its claims are settled (queue/abandon-enqueue.ts):
   * the batch is enqueued (what it queued is paid) or, one waiting for approval, canceled. Recorded
   * with its `abandoned` audit entry. False when it was no longer enqueuing.
   */
  async abandon(batchId: string, to: 'enqueued' | 'canceled', by: Actor): Promise<boolean> {
    const { provider, account } = await this.ownerOf(batchId);
    const fields = [
      'abandoned_by', by.identity, 'abandoned_at', new Date().toISOString(),
      ...(by.displayName === undefined ? [] : ['abandoned_by_name', by.displayName]),
      ...(to === 'canceled' ? ['canceled_by', by.identity, ...(by.displayName === undefined ? [] : ['canceled_by_name', by.displayName])] : []),
    ];
    const details = to === 'canceled' ? 'interrupted enqueue given up; the batch awaited approval, so it is canceled' : 'interrupted enqueue given up; what it queued is paid';
    const abandoned = await this.redis.abandonEnqueue(
      this.keys.batch(provider, account, batchId), this.keys.batchClaims(provider, account, batchId), this.keys.audit(provider, account),
      to, fields.length, ...fields, ...auditFields('abandoned', by, { batchId }, details),
    );
    return abandoned === 1;
  }

  /**
   * Moves a batch awaiting approval to `to` (approved: enqueued; or canceled), atomically with its
   * audit entry: of an approval and a cancellation made at the same moment, exactly one wins, and
   * only the winner is in the trail. False when the batch was not awaiting approval. Who may approve
   * is batches/approval.ts's to judge (approveBatch): the submitter recorded here never changes.
   */
  decide(batchId: string, to: 'enqueued' | 'canceled', by: Actor): Promise<boolean> {
    const role = to === 'enqueued' ? 'approved' : 'canceled';
    const fields = [
      `${role}_by`, by.identity,
      ...(by.displayName === undefined ? [] : [`${role}_by_name`, by.displayName]),
      ...(to === 'enqueued' ? ['approved_at', new Date().toISOString()] : []),
    ];
    const send = async ({ provider, account }: BatchOwner) => (await this.redis.decideApproval(
      this.keys.batch(provider, account, batchId), this.keys.audit(provider, account), to, fields.length, ...fields, ...auditFields(role, by, { batchId }),
    )) === 1;
    // A batch whose account is known has its decision sent at once: on one connection it then runs
    // before any command sent after the call (a worker's mark), as a decision always did.
    const known = this.owners.get(batchId);
    return known === undefined ? this.ownerOf(batchId).then(send) : send(known);
  }

  async get(batchId: string): Promise<BatchRecord> {
    const { provider, account } = await this.ownerOf(batchId);
    const hash = await this.redis.hgetall(this.keys.batch(provider, account, batchId));
    if (Object.keys(hash).length > 0) return batchRecord.parse(hash) as BatchRecord;
    const [archived] = await this.archive.records([batchId]);
    if (archived === undefined) throw new BatchNotFoundError(batchId);
    return batchRecord.parse(archived) as BatchRecord;
  }

  /**
   * The records of many batches in few round trips (pipelined per account), in order; undefined
   * where one is missing or incomplete (a batch being written this very moment may lack fields yet).
   */
  async getMany(batchIds: readonly string[]): Promise<(BatchRecord | undefined)[]> {
    const owners = await this.ownersOf(batchIds);
    // An id the index does not know names no batch: it is not read.
    const known = batchIds.flatMap((batchId, i) => (owners[i] === undefined ? [] : [{ at: i, key: this.keys.batch(owners[i]!.provider, owners[i]!.account, batchId) }]));
    const hashes = await readPipelined(this.redis, known.map(({ key }) => ['hgetall', key]));
    const records: (BatchRecord | undefined)[] = batchIds.map(() => undefined);
    const gone: number[] = [];
    for (const [i, { at }] of known.entries()) {
      if (Object.keys(hashes[i] as object).length === 0) gone.push(at);
      const parsed = batchRecord.safeParse(hashes[i]);
      if (parsed.success) records[at] = parsed.data as BatchRecord;
    }
    // A known batch with no record in Redis is archived (or being written): its record is in the archive's index.
    const archived = await this.archive.records(gone.map((at) => batchIds[at]!));
    for (const [i, at] of gone.entries()) {
      const parsed = batchRecord.safeParse(archived[i]);
      if (parsed.success) records[at] = parsed.data as BatchRecord;
    }
    return records;
  }

  /** The ids of the batches created up to `createdUntilMs` (all of them by default), oldest first. */
  async batchIds(createdUntilMs = Infinity): Promise<string[]> {
    return this.redis.zrangebyscore(this.keys.batches(), '-inf', createdUntilMs === Infinity ? '+inf' : createdUntilMs);
  }
}

/** Every accepted payment has a final status: the batch's report is complete. */
export function isSettled(batch: BatchRecord): boolean {
  return (batch.state === 'enqueued' || batch.state === 'canceled') && batch.final >= batch.accepted;
}
