import { ApprovalRefusedError } from '../approval/approval-errors.js';
import { type Actor, describeActor, isServiceIdentity, personHere, sameIdentity } from '../audit/actor.js';
import type { StipendContext } from '../context.js';
import { UsageError } from '../errors.js';
import type { BatchRecord } from '../ledger/batches.js';
import { formatDollars } from '../money.js';
import { spacingMs } from '../limits/account-gate.js';
import { openAccountQueue } from '../queue/account-queue.js';
import { readFundingBalanceCents } from '../sending/funding-balance.js';
import { requeuePayments } from '../queue/requeue-payments.js';
import { accountOf } from './account-of.js';

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
  const queue = openAccountQueue(context.redis, context.config.prefix, account);
  try {
    await requeuePayments(context, queue, account, batchId, ({ record }) => (record.status === 'queued' ? record.round : undefined));
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

