import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Queue } from 'bullmq';
import { ApprovalRefusedError } from './approval/approval-errors.js';
import { approvalReason, describeApprovalRule } from './approval/approval-rule.js';
import { type Actor, describeActor, isServiceIdentity, personHere, sameIdentity } from './audit/actor.js';
import { type Account, findAccount } from './config/load.js';
import type { StipendContext } from './context.js';
import { ConfigError, UsageError } from './errors.js';
import { type BatchRecord, isSettled, newBatchId } from './ledger/batches.js';
import type { PaymentRecord, PaymentRef } from './ledger/payments.js';
import { type ManifestScan, manifestRows, scanManifest } from './manifest/index.js';
import { withManifestSnapshot } from './manifest/snapshot.js';
import { formatDollars } from './money.js';
import { spacingMs } from './queue/account-gate.js';
import { abandonEnqueue } from './queue/abandon-enqueue.js';
import { logBullErrors } from './queue/bull-errors.js';
import { enqueueAndFinish } from './queue/enqueue.js';
import { holdFileToSubmit } from './queue/enqueue-lock.js';
import { otherAccountsOf, refuseOtherAccountDuplicates } from './queue/other-accounts.js';
import { CredentialsRefusedError, readFundingBalanceCents } from './queue/funding-balance.js';
import { paymentJob, paymentQueueOptions, queueName } from './queue/payment-job.js';
import type { AnyAdapter } from './providers/index.js';

/**
 * The programmatic API behind the CLI: validate a manifest, submit it as a batch, wait for it.
 * Workers (queue/workers.ts) and reports (reports/reconciliation.ts) complete the picture.
 */

export type SubmitResult =
  /** refusal: why a valid manifest was not queued (e.g. the funding account holds too little). */
  | { accepted: false; scan: ManifestScan; refusal?: string }
  | { accepted: true; batchId: string; scan: ManifestScan };

/** How far a submission has got, for the progress lines of a large manifest. */
export type SubmitProgress =
  | { stage: 'validating'; rows: number; bytes: number; totalBytes: number }
  /** Its payment ids looked up in the provider's other accounts (refuseOtherAccountDuplicates). */
  | { stage: 'checking'; rows: number; totalRows: number }
  | { stage: 'funding' }
  /** Rows handed to the enqueue, which records them a chunk or two behind. */
  | { stage: 'queuing'; rows: number; totalRows: number };

/** A manifest is accepted when it has no file-level problem and, unless partial, no row problem. */
export function isAcceptable(scan: ManifestScan, allowPartial: boolean): boolean {
  return scan.fileProblems.length === 0 && scan.validRows > 0 && (allowPartial || scan.rowProblemCount === 0);
}

/**
 * Validates the whole manifest first; only an acceptable one is recorded and queued. Both passes
 * read a private snapshot, so a file changed (or still being written) meanwhile cannot slip rows in.
 */
export async function submitManifest(
  context: StipendContext,
  options: {
    file: string;
    account: Account;
    allowPartial?: boolean;
    /** Who submits (maker-checker): by default the person running this process (audit/actor.ts). */
    submittedBy?: Actor;
    /** Pay it even if another account of the provider has this file or one of its payments (OtherAccountDuplicateError otherwise). */
    allowOtherAccount?: boolean;
    onProgress?: (progress: SubmitProgress) => void;
  },
): Promise<SubmitResult> {
  return withManifestSnapshot(options.file, async (snapshot) => {
    const { adapter } = options.account;
    const { onProgress } = options;
    const scan = await scanSnapshot(snapshot, adapter, onProgress);
    // The second and third readings of the file, counted when someone listens.
    const rows = (stage: 'checking' | 'queuing') => {
      const read = manifestRows(snapshot, adapter);
      return onProgress ? counted(read, (n) => onProgress({ stage, rows: n, totalRows: scan.dataRows })) : read;
    };
    if (!isAcceptable(scan, options.allowPartial ?? false)) return { accepted: false, scan };
    const { provider, name } = options.account;
    const source = basename(options.file);
    // One enqueue per file at a time: a second submitter of it is refused (EnqueueBusyError).
    const hold = await holdFileToSubmit(context, options.account, scan.sha256, source);
    try {
      // The same file again while its batch's enqueue was cut short (a crash): finish that batch.
      const interrupted = await context.batches.interruptedFor(provider, name, scan.sha256);
      let batchId = interrupted?.batch_id;
      // A batch that needs approval is recorded and its payments held, but nothing is queued yet.
      const approval = approvalReason(options.account, scan.validCents) !== undefined;
      const otherAccounts = options.allowOtherAccount ? [] : otherAccountsOf(context, options.account);
      if (batchId === undefined) {
        if (!options.allowOtherAccount) await refuseOtherAccountDuplicates(context, options.account, scan.sha256, rows('checking'));
        if (adapter.balance) onProgress?.({ stage: 'funding' });
        const { refusal } = await checkFunding(context, options.account, scan.validCents);
        if (refusal !== undefined) return { accepted: false, scan, refusal };
        batchId = newBatchId();
        // The total and the rule go on the batch: each worker applies its own rule to that total.
        await context.batches.create({
          batchId, provider, account: name, source, sha256: scan.sha256, rowsTotal: scan.dataRows,
          submittedBy: options.submittedBy ?? personHere(), totalCents: scan.validCents,
          approvalRule: describeApprovalRule(options.account), needsApproval: approval,
        });
      }
      await enqueueAndFinish(context, options.account, batchId, rows('queuing'), { afterLine: interrupted?.enqueued_line ?? 0, approval, otherAccounts });
      return { accepted: true, batchId, scan };
    } finally {
      await hold.release();
    }
  });
}

/** The scan of a snapshot, its progress told as the `validating` stage of a submission. */
export async function scanSnapshot(snapshot: string, adapter: AnyAdapter, onProgress?: (progress: SubmitProgress) => void): Promise<ManifestScan> {
  const { size: totalBytes } = await stat(snapshot);
  return scanManifest(snapshot, adapter, onProgress && ((read) => onProgress({ stage: 'validating', ...read, totalBytes })));
}

/** The rows unchanged, telling `onCount` how many have been read. */
async function* counted<T>(rows: AsyncIterable<T>, onCount: (n: number) => void): AsyncGenerator<T> {
  let n = 0;
  for await (const row of rows) {
    n += 1;
    onCount(n);
    yield row;
  }
}

/** What the funding check found: the balance where the provider tells it, and why the batch is refused, if it is. */
export interface FundingCheck {
  balanceCents?: number;
  refusal?: string;
}

/**
 * Where the provider can tell its funding balance (its adapter's `balance`), a batch that needs more
 * than it holds is refused before anything is queued. A balance that cannot be read (after the
 * retries every read gets) refuses too: nothing has moved yet, and the batch can simply be
 * submitted again. Refused credentials are thrown instead (CredentialsRefusedError), and so is
 * an unset ${VAR} of the account's (ConfigError): the configuration is wrong, not the manifest.
 * `read`: how the balance is read (`run --dry-run` reads it leaving nothing in Redis).
 */
export async function checkFunding(
  context: StipendContext,
  account: Account,
  totalCents: number,
  read: typeof readFundingBalanceCents = readFundingBalanceCents,
): Promise<FundingCheck> {
  const { balance } = account.adapter;
  if (!balance) return {};
  let balanceCents: number;
  try {
    balanceCents = await read(context, account, balance);
  } catch (error) {
    if (error instanceof CredentialsRefusedError || error instanceof ConfigError) throw error;
    return { refusal: error instanceof Error ? error.message : String(error) };
  }
  if (totalCents <= balanceCents) return { balanceCents };
  return { balanceCents, refusal: `the batch totals $${formatDollars(totalCents)} but the ${account.adapter.name} funding account (${account.name}) holds $${formatDollars(balanceCents)}` };
}

/** Polls the ledger until every accepted payment of the batch has a final status. */
export async function waitForBatch(
  context: StipendContext,
  batchId: string,
  options: { onProgress?: (batch: BatchRecord) => void; pollMs?: number; signal?: AbortSignal } = {},
): Promise<BatchRecord> {
  for (;;) {
    // A read that waits on Redis (away, reconnecting) does not hold up a stop.
    const batch = await abortable(context.batches.get(batchId), options.signal);
    options.onProgress?.(batch);
    if (isSettled(batch)) return batch;
    options.signal?.throwIfAborted();
    await sleep(options.pollMs ?? 250, undefined, { signal: options.signal });
  }
}

/** `work`, or the signal's reason as soon as it is aborted. */
function abortable<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return work;
  signal.throwIfAborted();
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/** The account a recorded batch was paid through, from the current configuration. */
export function accountOf(context: StipendContext, batch: BatchRecord): Account {
  return findAccount(context.config, batch.provider, batch.account);
}

/**
 * A person settles an `unknown` payment after checking with the provider: paid (with its
 * reference), or not paid (it becomes `failed`, which `retryFailed` may send again).
 */
export async function resolvePayment(
  context: StipendContext,
  ref: PaymentRef,
  verdict: { paid: string } | { notPaid: true },
  by: string,
): Promise<PaymentRecord> {
  const batch = await context.batches.get(ref.batchId);
  const ledger = context.payments(accountOf(context, batch));
  if (!(await ledger.get(ref))) throw new UsageError(`batch ${ref.batchId} has no payment ${ref.paymentId}`);
  const refused = await ledger.resolve(ref, verdict, by);
  if (refused) throw new UsageError(`payment ${ref.paymentId} cannot be resolved: ${refused}`);
  return (await ledger.get(ref))!;
}

/**
 * Sends a batch's `failed` payments (nothing was applied) round again; never `unknown` ones. A
 * payment that a later batch now holds stays as it is. A payment already `queued` (a retry or an
 * approval cut short after the ledger's step, before its job was added) gets its job under its
 * round's id: BullMQ adds a job id once, so one that exists is left as it is, never doubled.
 */
export async function retryFailed(
  context: StipendContext,
  batchId: string,
  by: Actor = personHere(),
): Promise<{ account: Account; retried: number; alreadyQueued: number; refused: string[] }> {
  const batch = await context.batches.get(batchId);
  if (batch.state === 'canceled' || batch.state === 'awaiting_approval') throw new UsageError(`batch ${batchId} is ${batch.state.replace('_', ' ')}; there is nothing to retry`);
  const account = accountOf(context, batch);
  const ledger = context.payments(account);
  const queue = logBullErrors(new Queue(queueName(account), paymentQueueOptions(context.redis, context.config.prefix)), { queue: queueName(account) });
  let retried = 0;
  let alreadyQueued = 0;
  const refused: string[] = [];
  try {
    for await (const page of context.rows.pages(batchId)) {
      const jobs = [];
      for (const row of page) {
        if (row.s !== 'payment') continue;
        const ref = { batchId, paymentId: row.p };
        const record = await ledger.get(ref);
        if (record?.status === 'queued') {
          jobs.push(paymentJob(account, { batchId, paymentId: row.p, amountCents: record.amount_cents, fields: record.fields }, record.round));
          alreadyQueued += 1;
          continue;
        }
        if (record?.status !== 'failed') continue;
        const outcome = await ledger.retry(ref, by);
        if ('refused' in outcome) {
          refused.push(`${row.p}: ${outcome.refused}`);
          continue;
        }
        jobs.push(paymentJob(account, { batchId, paymentId: row.p, amountCents: record.amount_cents, fields: record.fields }, outcome.round));
        retried += 1;
      }
      if (jobs.length > 0) await queue.addBulk(jobs);
    }
  } finally {
    await queue.close();
  }
  return { account, retried, alreadyQueued, refused };
}

/** What a checker sees before approving: the total, the rows, the funding balance, how long paying takes. */
export async function approvalSummary(context: StipendContext, batch: BatchRecord): Promise<string> {
  const account = accountOf(context, batch);
  const lines = [
    `batch ${batch.batch_id} (${batch.provider}/${batch.account}) from ${batch.source}, submitted by ${batch.submitted_by === undefined ? 'unknown' : describeActor(batch.submitted_by, batch.submitted_by_name)} at ${batch.created_at}`,
    `${batch.accepted} payments, $${formatDollars(batch.accepted_cents)} in all (${batch.rows_total} rows: ${batch.rejected} rejected, ${batch.duplicates} already paid elsewhere)`,
    ...(batch.held_by === undefined ? [] : [`held by ${batch.held_by} at ${batch.held_at}: ${batch.held_reason} (the submitter's rule: ${batch.approval_rule ?? 'not recorded'})`]),
  ];
  const { balance: reader } = account.adapter;
  if (reader) {
    try {
      const balance = await readFundingBalanceCents(context, account, reader);
      lines.push(`funding balance: $${formatDollars(balance)}${balance < batch.accepted_cents ? ' — NOT ENOUGH for this batch' : ''}`);
    } catch (error) {
      lines.push(error instanceof Error ? error.message : String(error));
    }
  }
  const seconds = Math.ceil((batch.accepted * spacingMs(account.rateLimit)) / 1000);
  lines.push(`estimated time to pay at the account's rate limit: ${seconds < 120 ? `${seconds} s` : `${Math.ceil(seconds / 60)} min`}`);
  return lines.join('\n');
}

/**
 * Maker-checker: a person other than the submitter releases a batch and its payments are queued.
 * `approver`: by default the person running this process (operating-system user and host); the
 * programmatic API may name another identity. A service (the watcher, a schedule, a worker) never
 * approves, and the submitter never approves their own batch: ApprovalRefusedError, nothing changed.
 * The submitter is compared here, before the decision: it is written once, at submission. The
 * decision is recorded first (atomically against a cancellation, with its audit entry); should the
 * process stop before every job is added, the sweeper adds the rest, as for any enqueued batch. Jobs
 * a worker completed without sending (its approval rule held the batch) are added again here.
 */
export async function approveBatch(context: StipendContext, batchId: string, approver: Actor = personHere()): Promise<BatchRecord> {
  const batch = await context.batches.get(batchId);
  refuseUnfitApprover(batch, approver);
  if (!(await context.batches.decide(batchId, 'enqueued', approver))) {
    throw new UsageError(`batch ${batchId} is ${(await context.batches.get(batchId)).state.replace('_', ' ')}, not awaiting approval`);
  }
  const account = accountOf(context, batch);
  const ledger = context.payments(account);
  const queue = logBullErrors(new Queue(queueName(account), paymentQueueOptions(context.redis, context.config.prefix)), { queue: queueName(account) });
  try {
    for await (const page of context.rows.pages(batchId)) {
      const jobs = [];
      for (const row of page) {
        if (row.s !== 'payment') continue;
        const record = await ledger.get({ batchId, paymentId: row.p });
        if (record?.status !== 'queued') continue;
        jobs.push(paymentJob(account, { batchId, paymentId: row.p, amountCents: record.amount_cents, fields: record.fields }, record.round));
      }
      if (jobs.length > 0) await queue.addBulk(jobs);
    }
  } finally {
    await queue.close();
  }
  return context.batches.get(batchId);
}

/** Throws ApprovalRefusedError when `approver` may not approve the batch: a service, or its submitter. */
export function refuseUnfitApprover(batch: BatchRecord, approver: Actor): void {
  if (isServiceIdentity(approver.identity)) {
    throw new ApprovalRefusedError(`${approver.identity} is a service; only a person approves a batch (stipend approve), never the watcher, a schedule or a worker`);
  }
  if (batch.submitted_by !== undefined && sameIdentity(batch.submitted_by, approver.identity)) {
    throw new ApprovalRefusedError(`${approver.identity} submitted batch ${batch.batch_id}; someone else must approve it`);
  }
}

/**
 * Drops a batch that has not started (awaiting approval): every payment not sent ends failed
 * (CANCELED). The decision is recorded first, so no approval can queue a payment of it afterwards,
 * and no payment of it is marked sending from then on (the approval fence, ledger/payment-scripts.ts).
 * A payment a worker had sent before a worker's own rule held the batch settles as its call answers;
 * one a run turns back after this went past it is settled by the sweeper the same way. Canceling a
 * canceled batch again settles what an interrupted cancellation left. An enqueue cut short
 * (enqueuing, no enqueue running) is abandoned instead: what it queued is paid as usual, what it
 * claimed without queuing is released (queue/abandon-enqueue.ts). Anyone may cancel, the submitter
 * too: nothing is paid.
 */
export async function cancelBatch(context: StipendContext, batchId: string, by: Actor = personHere()): Promise<BatchRecord> {
  let batch = await context.batches.get(batchId);
  if (batch.state === 'enqueuing') {
    batch = await abandonEnqueue(context, batch, by);
    if (batch.state !== 'canceled') return batch;
  } else if (batch.state !== 'canceled' && !(await context.batches.decide(batchId, 'canceled', by))) {
    throw new UsageError(`batch ${batchId} is ${(await context.batches.get(batchId)).state.replace('_', ' ')}; only a batch awaiting approval, or an interrupted enqueue, can be canceled`);
  }
  batch = await context.batches.get(batchId);
  const canceledBy = describeActor(batch.canceled_by ?? by.identity, batch.canceled_by_name);
  const ledger = context.payments(accountOf(context, batch));
  for await (const page of context.rows.pages(batchId)) {
    for (const row of page) {
      if (row.s !== 'payment') continue;
      // Only queued payments: a payment sending has a call under way, which its run settles.
      const ref = { batchId, paymentId: row.p };
      if ((await ledger.get(ref))?.status !== 'queued') continue;
      await ledger.cancel(ref, canceledBy);
    }
  }
  return context.batches.get(batchId);
}
