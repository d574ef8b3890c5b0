/**
 * Every Redis key the program uses, under the configured prefix: nothing else builds a key name.
 * The ledger (batches, payments, holders, audit) is the durable record of each batch and payment;
 * it is kept apart from BullMQ's job data (under bull()), whose retention is BullMQ's business.
 * Each key says its Redis type and who writes it.
 */
export class RedisKeys {
  constructor(readonly prefix: string) {}

  /** What every key of this program matches (SCAN), so a demo or a test can remove all of them (queue/cleanup.ts). */
  everything(): string {
    return `${this.prefix}:*`;
  }

  /** BullMQ's own prefix: its queues' keys (payment queues, schedules) are BullMQ's, written by BullMQ. */
  bull(): string {
    return `${this.prefix}:bull`;
  }

  /** ZSET: all batches, scored by creation time. Written by BatchLedger.create. */
  batches(): string {
    return `${this.prefix}:batches`;
  }

  /** SET: batches not yet known to be settled, which the sweeper looks after. Written by BatchLedger and retryPayment.lua. */
  openBatches(): string {
    return `${this.prefix}:batches:open`;
  }

  /** STREAM: every decision, appended and never trimmed (audit/audit-entry.ts). Written by the ledger's scripts and BatchLedger. */
  audit(): string {
    return `${this.prefix}:audit`;
  }

  /** HASH: the batch's provenance and its running counts. Written by BatchLedger and the payment scripts' recount. */
  batch(batchId: string): string {
    return `${this.prefix}:batch:${batchId}`;
  }

  /** STRING: the latest batch made from a file (by its SHA-256) for an account, to resume its enqueue. Written by BatchLedger.create. */
  batchOfFile(provider: string, account: string, sha256: string): string {
    return `${this.prefix}:batch-of-file:${provider}:${account}:${sha256}`;
  }

  /**
   * STRING: the owner token of the one enqueue (or abandonment) at work on a file (by its SHA-256)
   * for any account of the provider; it expires unless renewed. Written by queue/enqueue-lock.ts.
   */
  enqueueLock(provider: string, sha256: string): string {
    return `${this.prefix}:enqueue-lock:${provider}:${sha256}`;
  }

  /** LIST: one JSON entry per manifest row, in file order. Written by BatchLedger.recordChunk and settleUnrecordedClaim.lua. */
  batchRows(batchId: string): string {
    return `${this.prefix}:batch:${batchId}:rows`;
  }

  /**
   * SET: the payment ids an enqueuing batch has claimed but not yet recorded as rows. What an
   * abandoned enqueue releases (queue/abandon-enqueue.ts). Written by claimPayments.lua, emptied as
   * chunks are recorded (recordChunk.lua) and when the enqueue ends.
   */
  batchClaims(batchId: string): string {
    return `${this.prefix}:batch:${batchId}:claims`;
  }

  /** STRING: the folder (absolute) holding the batch's <batchId>/reconciliation.csv. Written by reports/report-folder.ts. */
  reportFolder(batchId: string): string {
    return `${this.prefix}:batch:${batchId}:report-folder`;
  }

  /** HASH: one payment of one batch. Written only by the ledger's scripts (ledger/payments.ts, ledger/reversals.ts, ledger/claims.ts). */
  payment(provider: string, account: string, batchId: string, paymentId: string): string {
    return `${this.paymentPrefix(provider, account)}${batchId}:${paymentId}`;
  }

  /** What payment(…) keys start with; the ledger's scripts complete it with a batch and payment id. */
  paymentPrefix(provider: string, account: string): string {
    return `${this.prefix}:pay:${provider}:${account}:`;
  }

  /**
   * STRING: the batch that holds a payment identity (account + payment id), so no other batch pays
   * it again. The only ledger key that may expire: how long duplicates are remembered. Written by
   * claimPayments.lua, and given its expiry when the payment settles.
   */
  holder(provider: string, account: string, paymentId: string): string {
    return `${this.prefix}:holder:${provider}:${account}:${paymentId}`;
  }

  /**
   * ZSET: the account's request log for its rate limit (request id → when it stops counting).
   * Written by the gate's scripts (limits/account-gate.ts), as are rateUnanswered and rateNext.
   */
  rate(provider: string, account: string): string {
    return `${this.prefix}:rate:${provider}:${account}`;
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
    return `${this.prefix}:pause:${provider}:${account}`;
  }

  /** STRING: the account's provider session, sealed (sending/session-seal.ts). Written by sending/shared-session.ts. */
  session(provider: string, account: string): string {
    return `${this.prefix}:session:${provider}:${account}`;
  }

  /** HASH: the account's provider request timings (counts and sums by histogram bucket). Written by metrics/provider-timings.ts. */
  providerTimings(provider: string, account: string): string {
    return `${this.prefix}:metrics:provider-timings:${provider}:${account}`;
  }

  /** STRING: the lease (redis/lock.ts) of the one process ingesting a dropped file, by its path in the folder. Written by ingest/ingest-file.ts. */
  watchLease(relativePath: string): string {
    return `${this.prefix}:watch:${relativePath}`;
  }

  /** STRING: the lock (redis/lock.ts) of the one worker process sweeping at a time. Written by the sweeper. */
  sweeperLock(): string {
    return `${this.prefix}:sweeper`;
  }

  /** STRING: written before each WAIT / WAITAOF that confirms sending marks durable. Written by sending/durability.ts. */
  durabilityProbe(): string {
    return `${this.prefix}:durability:probe`;
  }

  /** SET: the name of every person who may sign in to the console. Written by people/people.ts. */
  people(): string {
    return `${this.prefix}:people`;
  }

  /** HASH: one person's role and password hash (scrypt, never the password). Written by people/people.ts. */
  person(name: string): string {
    return `${this.prefix}:person:${name}`;
  }

  /** HASH, expiring: one console session (who, its CSRF token, from where). Written by people/sessions.ts. */
  consoleSession(sessionId: string): string {
    return `${this.prefix}:console:session:${sessionId}`;
  }

  /** SET: the sessions of one person, so removing them or signing out everywhere ends them all. Written by people/sessions.ts. */
  personSessions(name: string): string {
    return `${this.prefix}:console:sessions-of:${name}`;
  }

  /** STRING, expiring: failed sign-ins in a row, by name or by address. Written by people/sign-in-throttle.ts. */
  signInFailures(kind: 'name' | 'address', who: string): string {
    return `${this.prefix}:console:sign-in-failures:${kind}:${who}`;
  }

  /** STRING: the secret that signs console cookies, made once by the first console to start. Written by people/sessions.ts. */
  consoleSecret(): string {
    return `${this.prefix}:console:secret`;
  }

  /** HASH, expiring: an uploaded manifest's clean validation (file, SHA-256, account, who). Written by console/uploads.ts. */
  consoleUpload(token: string): string {
    return `${this.prefix}:console:upload:${token}`;
  }
}
