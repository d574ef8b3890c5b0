/**
 * Every Redis key the program uses, under the configured prefix: nothing else builds a key name.
 * The ledger (batches, payments, holders, audit) is the durable record of each batch and payment;
 * it is kept apart from BullMQ's job data (under bull(…)), whose retention is BullMQ's business.
 * Each key says its Redis type and who writes it.
 *
 * Slots (docs/scaling-out.md). On Redis Cluster a script or MULTI may only touch keys of one hash
 * slot, and a key's slot is decided by the first `{…}` in its name. So every key of one provider
 * account carries the account's tag, `{provider/account}`: its queue, ledger, gate and batches live
 * in one slot, and different accounts spread over the shards. The console's people and sessions
 * share the tag `{people}`, the index of all batches `{index}`, the schedules queue `{schedules}`.
 * Keys used alone (locks, leases) carry no tag. On a single Redis the tags change nothing.
 */
import { createHash } from 'node:crypto';

/**
 * The compact holders (and reservations) of archived payments are spread over this many hashes per
 * account (per provider), so each stays small (Redis keeps a hash of up to hash-max-listpack-entries,
 * 128 by default, as one compact listpack): about 55 bytes per payment id at 100,000 per account,
 * against 106 in one big hash.
 */
const ARCHIVED_BUCKETS = 1024;

/** The bucket of a payment id among ARCHIVED_BUCKETS. */
function bucketOf(paymentId: string): number {
  return createHash('sha1').update(paymentId).digest().readUInt32BE(0) % ARCHIVED_BUCKETS;
}

export class RedisKeys {
  constructor(readonly prefix: string) {}

  /** What every key of this program matches (SCAN), so a demo or a test can remove all of them (queue/cleanup.ts). */
  everything(): string {
    return `${this.prefix}:*`;
  }

  /** Where every key of one account starts: its hash tag. */
  private account(provider: string, account: string): string {
    return `${this.prefix}:{${provider}/${account}}`;
  }

  /** BullMQ's prefix for the account's payment queue: its keys are BullMQ's, written by BullMQ, in the account's slot. */
  bull(provider: string, account: string): string {
    return `${this.account(provider, account)}:bull`;
  }

  /** BullMQ's prefix for the schedules queue (ingest/schedules.ts). */
  schedulesBull(): string {
    return `${this.prefix}:{schedules}:bull`;
  }

  /** ZSET: every batch id, scored by creation time. Written by BatchLedger.create. */
  batches(): string {
    return `${this.prefix}:{index}:batches`;
  }

  /** HASH: each batch id → the account (`provider/account`) whose slot holds it. Written by BatchLedger.create. */
  batchAccounts(): string {
    return `${this.prefix}:{index}:batch-accounts`;
  }

  /** SET: every account (`provider/account`) that ever had a batch: what reads across accounts visit. Written by BatchLedger.create. */
  accounts(): string {
    return `${this.prefix}:{index}:accounts`;
  }

  /** SET: the account's batches not yet known to be settled, which the sweeper looks after. Written by BatchLedger and retryPayment.lua. */
  openBatches(provider: string, account: string): string {
    return `${this.account(provider, account)}:batches:open`;
  }

  /**
   * STREAM: every decision about the account's batches and payments, appended and never trimmed
   * (audit/audit-entry.ts). Written by the ledger's scripts and BatchLedger.
   */
  audit(provider: string, account: string): string {
    return `${this.account(provider, account)}:audit`;
  }

  /** STREAM: every change to the console's people, as audit(…). Written by people/people.ts's scripts. */
  peopleAudit(): string {
    return `${this.prefix}:{people}:audit`;
  }

  /** HASH: the batch's provenance and its running counts. Written by BatchLedger and the payment scripts' recount. */
  batch(provider: string, account: string, batchId: string): string {
    return `${this.account(provider, account)}:batch:${batchId}`;
  }

  /** STRING: the latest batch made from a file (by its SHA-256) for an account, to resume its enqueue. Written by BatchLedger.create. */
  batchOfFile(provider: string, account: string, sha256: string): string {
    return `${this.account(provider, account)}:batch-of-file:${sha256}`;
  }

  /**
   * STRING: the owner token of the one enqueue (or abandonment) at work on a file (by its SHA-256)
   * for any account of the provider; it expires unless renewed. Written by queue/enqueue-lock.ts.
   */
  enqueueLock(provider: string, sha256: string): string {
    return `${this.prefix}:enqueue-lock:${provider}:${sha256}`;
  }

  /** LIST: one JSON entry per manifest row, in file order. Written by BatchLedger.recordChunk and settleUnrecordedClaim.lua. */
  batchRows(provider: string, account: string, batchId: string): string {
    return `${this.batch(provider, account, batchId)}:rows`;
  }

  /**
   * SET: the payment ids an enqueuing batch has claimed but not yet recorded as rows. What an
   * abandoned enqueue releases (queue/abandon-enqueue.ts). Written by claimPayments.lua, emptied as
   * chunks are recorded (recordChunk.lua) and when the enqueue ends.
   */
  batchClaims(provider: string, account: string, batchId: string): string {
    return `${this.batch(provider, account, batchId)}:claims`;
  }

  /** STRING: the folder (absolute) holding the batch's <batchId>/reconciliation.csv. Written by reports/report-folder.ts. */
  reportFolder(provider: string, account: string, batchId: string): string {
    return `${this.batch(provider, account, batchId)}:report-folder`;
  }

  /** HASH: one payment of one batch. Written only by the ledger's scripts (ledger/payments.ts, ledger/reversals.ts, ledger/claims.ts). */
  payment(provider: string, account: string, batchId: string, paymentId: string): string {
    return `${this.account(provider, account)}:pay:${batchId}:${paymentId}`;
  }

  /**
   * STRING: the batch that holds a payment identity (account + payment id), so no other batch pays
   * it again. The only ledger key that may expire: how long duplicates are remembered. Written by
   * claimPayments.lua, and given its expiry when the payment settles.
   */
  holder(provider: string, account: string, paymentId: string): string {
    return `${this.account(provider, account)}:holder:${paymentId}`;
  }

  /**
   * STRING: on Redis Cluster, which account of the provider reserved a payment identity first
   * (`<account>/<batch>`), in the provider's slot: the accounts' holders are in slots of their own.
   * Expires. Written by ledger/claims.ts (reserveIdentities.lua).
   */
  identity(provider: string, paymentId: string): string {
    return `${this.prefix}:{${provider}}:identity:${paymentId}`;
  }

  /**
   * ZSET: the account's request log for its rate limit (request id → when it stops counting).
   * Written by the gate's scripts (limits/account-gate.ts), as are rateUnanswered and rateNext.
   */
  rate(provider: string, account: string): string {
    return `${this.account(provider, account)}:rate`;
  }

  /** ZSET: the entries of rate(…) whose answer is not back yet, with the same scores. */
  rateUnanswered(provider: string, account: string): string {
    return `${this.rate(provider, account)}:unanswered`;
  }

  /** STRING: the earliest start the account's spacing allows the next request (ms, Redis's clock). */
  rateNext(provider: string, account: string): string {
    return `${this.rate(provider, account)}:next`;
  }

  /** STRING whose time to live is the account's pause after a 429/503 answer. Written by limits/account-gate.ts. */
  pause(provider: string, account: string): string {
    return `${this.account(provider, account)}:pause`;
  }

  /** STRING: the account's provider session, sealed (sending/session-seal.ts). Written by sending/shared-session.ts. */
  session(provider: string, account: string): string {
    return `${this.account(provider, account)}:session`;
  }

  /** HASH: the account's provider request timings (counts and sums by histogram bucket). Written by metrics/provider-timings.ts. */
  providerTimings(provider: string, account: string): string {
    return `${this.account(provider, account)}:metrics:provider-timings`;
  }

  /**
   * STRING: written before each WAIT / WAITAOF that confirms the account's sending marks durable, in
   * the account's slot so that it reaches the server that took them. Written by sending/durability.ts.
   */
  durabilityProbe(provider: string, account: string): string {
    return `${this.account(provider, account)}:durability:probe`;
  }

  /**
   * HASH: the archived batches (archive/): batch id → where its files are, their checksum and the
   * batch record (JSON), so that lists and status read an archived batch without opening its files.
   * Written by archive/archive-batch.ts.
   */
  archivedBatches(): string {
    return `${this.prefix}:{index}:archived`;
  }

  /**
   * HASH: what stays in Redis of an archived payment that holds its identity (paid, reversed): payment
   * id → `<batch id>` or `<batch id> <expiry, ms by Redis's clock>`, in one of a fixed number of
   * buckets by the id's hash. Read with the holders by the claim scripts (includes/compactHolder.lua);
   * written by archive/archive-batch.ts (compactHolders.lua), which deletes the holder it replaces.
   */
  archivedHolders(provider: string, account: string, paymentId: string): string {
    return this.archivedHolderBucket(provider, account, bucketOf(paymentId));
  }

  /** Every bucket of archivedHolders(…) of an account: what forgetting the expired ones visits. */
  allArchivedHolders(provider: string, account: string): string[] {
    return Array.from({ length: ARCHIVED_BUCKETS }, (_, bucket) => this.archivedHolderBucket(provider, account, bucket));
  }

  private archivedHolderBucket(provider: string, account: string, bucket: number): string {
    return `${this.account(provider, account)}:held:${bucket}`;
  }

  /**
   * HASH: on a cluster, what stays of an archived payment's identity(…) reservation: payment id →
   * `<account>/<batch>` or with ` <expiry, ms by Redis's clock>`, what the reservation said and as
   * long as it had left, in one of the buckets by the id's hash, in the provider's slot. Read by
   * reserveIdentities.lua beside the reservations; written by archive/archive-batch.ts
   * (compactIdentities.lua), which deletes the reservation it replaces.
   */
  archivedIdentities(provider: string, paymentId: string): string {
    return this.archivedIdentityBucket(provider, bucketOf(paymentId));
  }

  /** Every bucket of archivedIdentities(…) of a provider: what forgetting the expired ones visits. */
  allArchivedIdentities(provider: string): string[] {
    return Array.from({ length: ARCHIVED_BUCKETS }, (_, bucket) => this.archivedIdentityBucket(provider, bucket));
  }

  private archivedIdentityBucket(provider: string, bucket: number): string {
    return `${this.prefix}:{${provider}}:identities:${bucket}`;
  }

  /** STRING: the workers' turn to archive (redis/lock.ts), lasting the configured interval. Written by jobs/archiver.ts. */
  archiverLock(): string {
    return `${this.prefix}:archiver`;
  }

  /** STRING: the lock (redis/lock.ts) of the one archive run at a time, the command's or the workers'. Written by archive/archive-old.ts. */
  archiveRunLock(): string {
    return `${this.prefix}:archive-run`;
  }

  /**
   * STRING: as durabilityProbe(…), in the index's slot: written before the WAIT that confirms an
   * archived batch's index entry on the replicas before its keys leave the account's slot (archive/).
   */
  indexDurabilityProbe(): string {
    return `${this.prefix}:{index}:durability:probe`;
  }

  /** STRING: the lease (redis/lock.ts) of the one process ingesting a dropped file, by its path in the folder. Written by ingest/ingest-file.ts. */
  watchLease(relativePath: string): string {
    return `${this.prefix}:watch:${relativePath}`;
  }

  /** STRING: the lock (redis/lock.ts) of the one worker process sweeping at a time. Written by the sweeper. */
  sweeperLock(): string {
    return `${this.prefix}:sweeper`;
  }

  /** SET: the name of every person who may sign in to the console. Written by people/people.ts. */
  people(): string {
    return `${this.prefix}:{people}:people`;
  }

  /** HASH: one person's role and password hash (scrypt, never the password). Written by people/people.ts. */
  person(name: string): string {
    return `${this.prefix}:{people}:person:${name}`;
  }

  /** HASH, expiring: one console session (who, its CSRF token, from where). Written by people/sessions.ts. */
  consoleSession(sessionId: string): string {
    return `${this.prefix}:{people}:session:${sessionId}`;
  }

  /** SET: the sessions of one person, so removing them or signing out everywhere ends them all. Written by people/sessions.ts. */
  personSessions(name: string): string {
    return `${this.prefix}:{people}:sessions-of:${name}`;
  }

  /** STRING, expiring: failed sign-ins in a row, by name or by address. Written by people/sign-in-throttle.ts. */
  signInFailures(kind: 'name' | 'address', who: string): string {
    return `${this.prefix}:{people}:sign-in-failures:${kind}:${who}`;
  }

  /** STRING: the secret that signs console cookies, made once by the first console to start. Written by people/sessions.ts. */
  consoleSecret(): string {
    return `${this.prefix}:{people}:secret`;
  }

  /** HASH, expiring: an uploaded manifest's clean validation (file, SHA-256, account, who). Written by console/uploads.ts. */
  consoleUpload(token: string): string {
    return `${this.prefix}:{people}:upload:${token}`;
  }
}
