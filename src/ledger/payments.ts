import { Cluster } from 'ioredis';
import type { RedisClient } from '../redis/connection.js';
import { z } from 'zod';
import { type Actor, personHere, recordedName } from '../audit/actor.js';
import { auditFields } from '../audit/audit-entry.js';
import type { RedisKeys } from '../redis/keys.js';
import { readPipelined } from '../redis/read-pipelined.js';
import { scripted, type ScriptedRedis } from '../redis/scripts.js';
import type { LedgerArchive } from './archived.js';
import { claimPayments, type NewPayment, PROVIDER_FIELD, seenHolders, TRIES } from './claims.js';
import { type FinalStatus, paymentStatus, type PaymentStatus } from './payment-status.js';

/**
 * The payment record: one Redis hash per payment of a batch, written only through the Lua scripts
 * in redis/lua/ (readStanding.lua, beginSending.lua, finalizePayment.lua, …) so that every transition is atomic across worker processes.
 *
 *   queued ──▶ sending ──▶ paid | declined | failed | unknown
 *      ▲          │                            │        │
 *      └──────────┘ retryable                  │        └─ resolve: paid, or failed (not paid)
 *      └───────────────────────────────────────┘ retry (a failed payment, nothing applied)
 *
 * `sending` is written before every provider call. Finding it on a later run means the previous
 * run stopped in the middle of a call: the outcome is in doubt, and it stays in doubt until a
 * lookup, an idempotent resend or a person settles it: no requeue, retry or sweep drops it.
 *
 * A paid payment can then be given back (`stipend reverse`, see ledger/reversals.ts):
 *
 *   paid ──▶ reversing ──▶ reversed | paid (refused: nothing moved) | reversal_unknown
 *
 * A payment identity (account + payment id) is held by one batch at a time (RedisKeys.holder): a
 * later batch with the same payment does not pay it while the holder's payment is paid, in flight,
 * unknown or reversed (a person gave it back on purpose); it may when that payment failed or was
 * declined (nothing moved).
 */

export { FINAL_STATUSES, type FinalStatus, paymentStatus, type PaymentStatus, REVERSAL_STATUSES } from './payment-status.js';

const count = z.coerce.number().int();
export const paymentRecord = z.object({
  batch_id: z.string(),
  line: count,
  provider: z.string(),
  account: z.string(),
  payment_id: z.string(),
  payee: z.string(),
  amount_cents: count,
  status: paymentStatus,
  attempts: count,
  /** How many times `stipend retry` sent this payment round again (its job id changes each time). */
  round: count.default(0),
  submitted_at: z.string(),
  sending_at: z.string().optional(),
  /** Redis's clock (ms) at the latest sending mark: what decides whether that call may still be under way. */
  sending_ms: count.optional(),
  /** How many sending marks were made: a careful send compares against it (beginSending.lua in redis/lua/). */
  epoch: count.default(0),
  settled_at: z.string().optional(),
  reference: z.string().optional(),
  code: z.string().optional(),
  message: z.string().optional(),
  /** Set once any call's outcome was unknown: such a row can never end as plain `failed`. */
  may_have_applied: z.literal('1').optional(),
  /**
   * A `paid` answer the ledger could not take (it came after a person's not-paid verdict, or a
   * second one with another reference): kept here, the status left as it was, for a person to see.
   */
  conflict_code: z.string().optional(),
  conflict_reference: z.string().optional(),
  conflict_message: z.string().optional(),
  conflict_at: z.string().optional(),
  /** The provider fields as validated from the manifest (hash fields `f.<name>`): what a retry sends again. */
  fields: z.record(z.string(), z.string()),
  /** The key every call for this payment is sent with (see PaymentInstruction.idempotencyKey). */
  idem_key: z.string().optional(),
  /** The manifest's participant_id: the person, across providers, for the tax export. */
  participant_id: z.string().optional(),
  /** The manifest marked the payment a reimbursement (not taxable income). */
  reimbursement: z.literal('1').optional(),
  /** Who settled an unknown payment by hand, and when (`stipend resolve`). */
  resolved_by: z.string().optional(),
  resolved_at: z.string().optional(),
  /** The latest reversal asked for (ledger/reversals.ts): who, why, when it left, when it settled. */
  reversal_by: z.string().optional(),
  reversal_reason: z.string().optional(),
  reversal_requested_at: z.string().optional(),
  /** Redis's clock (ms) at the reversal's claim: what decides whether its call may still be under way. */
  reversal_ms: count.optional(),
  reversal_settled_at: z.string().optional(),
  /** The provider's id for the reversal, and what it answered (kept when it refused). */
  reversal_reference: z.string().optional(),
  reversal_code: z.string().optional(),
  reversal_message: z.string().optional(),
  /** Who settled a reversal_unknown by hand, and when (`stipend resolve --reversed | --not-reversed`). */
  reversal_resolved_by: z.string().optional(),
  reversal_resolved_at: z.string().optional(),
});
export type PaymentRecord = z.infer<typeof paymentRecord>;

/** What a worker checks before each attempt: a few fields of the record, read without the rest. */
export interface PaymentStanding {
  status: PaymentStatus;
  mayHaveApplied: boolean;
  /** The key kept for this payment, if it has one yet (see keepKey). */
  idempotencyKey: string | undefined;
  /** The sending marks so far: what a careful send compares against (beginSending). */
  epoch: number;
  /** While sending or in doubt: how much longer, by Redis's clock, the last marked call may still be under way. */
  inFlightMs: number;
}

/** A payment of a batch: what every transition is addressed to. */
export interface PaymentRef {
  batchId: string;
  paymentId: string;
}

/**
 * ready: send. ready-in-doubt: an earlier call may have applied; settle that first (look it up, or
 * resend with the same key). in-doubt: the same, but the provider offers no way: a person decides.
 * stale: another run marked the payment since this one looked at it: that run has it.
 * needs-approval: the batch needs an approval it does not have (ApprovalFence): nothing is sent.
 */
export type SendPermission = 'ready' | 'ready-in-doubt' | 'in-doubt' | 'final' | 'missing' | 'stale' | 'needs-approval';

/**
 * The sending worker's own approval rule, where it requires approval for the payment's batch (its
 * total as recorded at submission): why, and the worker, who holds the batch if it is not approved.
 * Undefined where the worker's rule requires nothing; the submitter's rule is on the batch and is
 * checked all the same.
 */
export interface ApprovalFence {
  reason: string;
  worker: Actor;
}

/** The ledger's answer to a sending mark; `epoch` is the mark's own (0 when refused). */
export interface SendMark<P extends string = SendPermission> {
  permission: P;
  epoch: number;
}

/** The code of a payment whose batch was canceled before it was sent (PaymentLedger.cancel). */
export const CANCELED = 'CANCELED';

/** What finalize did: recorded, not recorded (already final, or another run's call is under way), or a conflict kept. */
export type FinalizeResult = 'recorded' | 'ignored' | 'conflict';

/** The ledger's view of the payments of one account. */
export class PaymentLedger {
  private readonly redis: ScriptedRedis;

  constructor(
    redis: RedisClient,
    private readonly keys: RedisKeys,
    private readonly provider: string,
    private readonly account: string,
    /** Batches moved out of Redis: their payments are read from the archive. */
    private readonly archive: LedgerArchive,
    /** How long a settled payment's identity is remembered against re-drops; undefined: forever. */
    private readonly memoryMs?: number,
  ) {
    this.redis = scripted(redis);
  }

  key(ref: PaymentRef): string {
    return this.keys.payment(this.provider, this.account, ref.batchId, ref.paymentId);
  }

  /** Returns, per payment, undefined when this batch holds it (and will pay it), else the batch that does. */
  async claim(batchId: string, payments: NewPayment[]): Promise<(string | undefined)[]> {
    return claimPayments(this.redis, this.keys, { provider: this.provider, account: this.account }, batchId, payments);
  }

  /**
   * Call right before every request that can move money, with the epoch the run saw in its
   * standing; the answer says whether it may go. With `doubtResolvable`, a payment cut off mid-call
   * may be taken up again (ready-in-doubt). The key the request carries is recorded (a key kept
   * earlier stays).
   */
  async beginSending(ref: PaymentRef, doubtResolvable: boolean, seenEpoch: number, idempotencyKey = ref.paymentId, approval?: ApprovalFence): Promise<SendMark> {
    return toMark<SendPermission>(await this.redis.beginSending(
      ...this.fencedKeys(ref), now(), doubtResolvable ? '1' : '0', idempotencyKey, String(seenEpoch), ...fenceArgs(ref, approval),
    ));
  }

  /**
   * beginSending for a payment that is simply queued (nothing in doubt, no call under way), without
   * reading it first: 'ready', or 'not-fresh' with nothing changed, when its standing needs a look.
   */
  async beginFreshSending(ref: PaymentRef, idempotencyKey = ref.paymentId, approval?: ApprovalFence): Promise<SendMark<'ready' | 'not-fresh' | 'needs-approval'>> {
    return toMark<'ready' | 'not-fresh' | 'needs-approval'>(await this.redis.beginFreshSending(...this.fencedKeys(ref), now(), idempotencyKey, ...fenceArgs(ref, approval)));
  }

  /** The mark of `epoch` could not be made durable: its request does not leave, and the payment is queued as before. */
  async unmarkSending(ref: PaymentRef, epoch: number): Promise<void> {
    await this.redis.unmarkSending(this.key(ref), String(epoch));
  }

  /**
   * The request of `epoch` is repeated within its attempt (after a refusal that applied nothing): it
   * leaves now. False when it may not: another run marked the payment, or it was settled, meanwhile.
   */
  async touchSending(ref: PaymentRef, epoch: number): Promise<boolean> {
    return (await this.redis.touchSending(this.key(ref), now(), String(epoch))) === 1;
  }

  /**
   * Undefined when the payment has no record. `callMs` is how long a call can take (the account's
   * timeout and some slack): how long after its mark a call may still be under way.
   */
  async standing(ref: PaymentRef, callMs: number): Promise<PaymentStanding | undefined> {
    const fields = (await this.redis.readStanding(this.key(ref), String(callMs))) as (string | number)[];
    if (fields.length === 0) return undefined;
    const [status, doubt, key, epoch, inFlightMs] = fields;
    return { status: paymentStatus.parse(status), mayHaveApplied: doubt === '1', idempotencyKey: key === '' ? undefined : String(key), epoch: Number(epoch), inFlightMs: Number(inFlightMs) };
  }

  /** Keeps `key` unless the payment already has one; returns the key kept (the first one wins). */
  async keepKey(ref: PaymentRef, key: string): Promise<string> {
    return (await this.redis.keepKey(this.key(ref), key)) as string;
  }

  /**
   * The answer to this run's call (`epoch`) says: try again later. `mayHaveApplied`: the answer was
   * lost (the payment stays in doubt); `refused`: nothing was applied, and the call is not counted
   * in attempts. False when it was not this run's call to requeue (nothing changed).
   */
  async requeue(ref: PaymentRef, epoch: number, outcome: { code: string; message: string; mayHaveApplied: boolean; refused: boolean }): Promise<boolean> {
    const done = await this.redis.requeuePayment(this.key(ref), String(epoch), outcome.code, outcome.message, outcome.mayHaveApplied ? '1' : '0', outcome.refused ? '1' : '0');
    return done === 1;
  }

  /**
   * Records a final status (see redis/lua/finalizePayment.lua). `epoch`: the mark of
   * the call this answers (undefined: the run made none). `refused`: the call applied nothing.
   * `abandoned`: the job ended without an outcome; unknown if a call may have applied, else failed.
   */
  async finalize(
    ref: PaymentRef,
    result: { status: FinalStatus | 'abandoned'; reference?: string; code: string; message: string; epoch?: number; refused?: boolean },
  ): Promise<FinalizeResult> {
    const recorded = await this.redis.finalizePayment(
      this.key(ref), this.batchKey(ref.batchId), this.holderKey(ref.paymentId),
      result.status, result.reference ?? '', result.code, result.message, now(), this.memory(), ref.batchId,
      result.epoch === undefined ? '' : String(result.epoch), result.refused ? '1' : '',
    );
    return recorded === 1 ? 'recorded' : recorded === 2 ? 'conflict' : 'ignored';
  }

  /**
   * A payment of a canceled batch that was not sent: failed (CANCELED), or unknown where an earlier
   * call may have applied (finalize decides). `canceledBy`: who canceled the batch, as people read it.
   */
  async cancel(ref: PaymentRef, canceledBy: string): Promise<FinalizeResult> {
    return this.finalize(ref, { status: 'failed', code: CANCELED, message: `batch canceled by ${canceledBy} before this payment was sent` });
  }

  /**
   * A person's verdict on an unknown payment, with its `resolved` audit entry naming `who`; the
   * payment keeps their name (resolved_by) and their note, if any, in its message. Returns undefined
   * when done, else why not.
   */
  async resolve(ref: PaymentRef, verdict: { paid: string } | { notPaid: true }, who: Actor, note?: string): Promise<string | undefined> {
    const details = withNote('paid' in verdict ? `paid, reference ${verdict.paid}` : 'not paid', note);
    const answer = await this.redis.resolvePayment(
      this.key(ref), this.batchKey(ref.batchId), this.holderKey(ref.paymentId), this.keys.audit(this.provider, this.account),
      'paid' in verdict ? 'paid' : 'not-paid', 'paid' in verdict ? verdict.paid : '', recordedName(who), now(), this.memory(), ref.batchId, note ?? '',
      ...auditFields('resolved', who, ref, details),
    );
    return answer === 'ok' ? undefined : `it is ${String(answer)}, not unknown`;
  }

  /**
   * Sends a failed payment round again, its batch open again, with its `retried` audit entry. Returns
   * the new round, or why it cannot go. `otherAccounts`: the provider's other accounts, one of which
   * may have paid the payment since it failed here; on one Redis their holders are read in the same
   * script (compare-and-set on what was read). On a cluster the first account to reserve a payment id
   * keeps it (ledger/claims.ts), so no other account can have paid it.
   */
  async retry(ref: PaymentRef, who: Actor = personHere(), otherAccounts: readonly string[] = []): Promise<{ round: number } | { refused: string }> {
    const others = this.redis instanceof Cluster ? [] : otherAccounts;
    let answer = 'stale';
    for (let attempt = 1; answer === 'stale'; attempt += 1) {
      if (attempt > TRIES) throw new Error(`the holders of payment ${ref.paymentId} kept changing while it was retried (${TRIES} tries)`);
      const held = await seenHolders(this.redis, this.keys, this.provider, others, ref.paymentId);
      const retryKeys = [
        this.key(ref), this.batchKey(ref.batchId), this.holderKey(ref.paymentId), this.keys.openBatches(this.provider, this.account), this.keys.audit(this.provider, this.account),
        this.keys.archivedHolders(this.provider, this.account, ref.paymentId), ...held.keys,
      ];
      answer = String(await this.redis.retryPayment(retryKeys.length, ...retryKeys, ref.batchId, others.length, ...held.seen, ...auditFields('retried', who, ref)));
    }
    if (/^\d+$/.test(answer)) return { round: Number(answer) };
    if (answer.startsWith('held:')) return { refused: `batch ${answer.slice(5)} now holds this payment` };
    if (answer.startsWith('conflict:')) return { refused: `the provider answered paid after it failed (${answer.slice(9)}): check with the provider` };
    return { refused: `it is ${answer}, not failed` };
  }

  async get(ref: PaymentRef): Promise<PaymentRecord | undefined> {
    return (await this.getMany([ref]))[0];
  }

  /** The records of many payments in one round trip (pipelined), in order; undefined where one has none. */
  async getMany(refs: readonly PaymentRef[]): Promise<(PaymentRecord | undefined)[]> {
    const hashes = (await readPipelined(this.redis, refs.map((ref) => ['hgetall', this.key(ref)]))) as Record<string, string>[];
    await this.fillFromArchive(refs, hashes, (hash) => Object.keys(hash).length === 0, (record) => record);
    return hashes.map((hash) => parsePaymentRecord(hash));
  }

  /**
   * The named fields of many payments in one round trip (pipelined HMGET), in order, without the
   * rest of each record: what a report page, the sweeper or a status line reads. A payment with no
   * record reads null in every field (its `status` among them).
   */
  async readMany<F extends string>(refs: readonly PaymentRef[], fields: readonly F[]): Promise<Record<F, string | null>[]> {
    const replies = (await readPipelined(this.redis, refs.map((ref) => ['hmget', this.key(ref), ...fields]))) as (string | null)[][];
    await this.fillFromArchive(refs, replies, (values) => values.every((value) => value === null), (record) => fields.map((name) => record[name] ?? null));
    return replies.map((values) => {
      const named = {} as Record<F, string | null>;
      for (let i = 0; i < fields.length; i += 1) named[fields[i]!] = values[i] ?? null;
      return named;
    });
  }

  /**
   * Where Redis had nothing for a payment (`missing`), what its batch's archive holds, if it was
   * archived (`from` picks what was asked for out of the record). Live batches cost nothing here.
   */
  private async fillFromArchive<T>(refs: readonly PaymentRef[], read: T[], missing: (value: T) => boolean, from: (record: Record<string, string>) => T): Promise<void> {
    const gone = new Map<string, number[]>();
    for (const [i, value] of read.entries()) if (missing(value)) gone.set(refs[i]!.batchId, [...(gone.get(refs[i]!.batchId) ?? []), i]);
    for (const [batchId, at] of gone) {
      const payments = (await this.archive.contents(batchId))?.payments;
      if (payments === undefined) continue;
      for (const i of at) {
        const record = payments.get(refs[i]!.paymentId);
        if (record !== undefined) read[i] = from(record);
      }
    }
  }

  /** The keys of a sending mark: the payment, and its batch and the audit stream for the approval fence. */
  private fencedKeys(ref: PaymentRef): [string, string, string] {
    return [this.key(ref), this.batchKey(ref.batchId), this.keys.audit(this.provider, this.account)];
  }

  private batchKey(batchId: string): string {
    return this.keys.batch(this.provider, this.account, batchId);
  }

  private holderKey(paymentId: string): string {
    return this.keys.holder(this.provider, this.account, paymentId);
  }

  private memory(): string {
    return this.memoryMs === undefined ? '' : String(this.memoryMs);
  }
}

export function parsePaymentRecord(hash: Record<string, string>): PaymentRecord | undefined {
  return Object.keys(hash).length === 0 ? undefined : paymentRecord.parse(gatherProviderFields(hash));
}

/** The record's `f.<name>` hash fields as one `fields` object; records written before them hold it as JSON. */
function gatherProviderFields(hash: Record<string, string>): Record<string, unknown> {
  const rest: Record<string, unknown> = {};
  const fields: Record<string, string> = {};
  for (const [name, value] of Object.entries(hash)) {
    if (name.startsWith(PROVIDER_FIELD)) fields[name.slice(PROVIDER_FIELD.length)] = value;
    else rest[name] = value;
  }
  return { ...rest, fields: typeof rest.fields === 'string' ? JSON.parse(rest.fields) : fields };
}

/** The approval fence's ARGV (redis/lua/includes/approvalFence.lua): '' alone when the worker's rule requires nothing. */
function fenceArgs(ref: PaymentRef, approval: ApprovalFence | undefined): string[] {
  if (approval === undefined) return [''];
  return ['1', approval.reason, approval.worker.identity, now(), ...auditFields('held', approval.worker, { batchId: ref.batchId }, approval.reason)];
}

function toMark<P extends string>(answer: unknown): SendMark<P> {
  const [permission, epoch] = answer as [P, number];
  return { permission, epoch: Number(epoch) };
}

/** An audit entry's details with the note a person added to their verdict. */
export function withNote(details: string, note: string | undefined): string {
  return note === undefined ? details : `${details}; note: ${note}`;
}

const now = () => new Date().toISOString();
