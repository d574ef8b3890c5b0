import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { approvalReason, describeApprovalRule } from '../approval/approval-rule.js';
import { type Actor, personHere } from '../audit/actor.js';
import type { Account } from '../config/load.js';
import type { StipendContext } from '../context.js';
import { newBatchId } from '../ledger/batches.js';
import { type ManifestScan, manifestRows, scanManifest } from '../manifest/index.js';
import { withManifestSnapshot } from '../manifest/snapshot.js';
import { enqueueAndFinish } from '../queue/enqueue.js';
import { holdFileToSubmit } from '../queue/enqueue-lock.js';
import { otherAccountsOf, refuseOtherAccountDuplicates } from '../queue/other-accounts.js';
import type { AnyAdapter } from '../providers/index.js';
import { checkFunding } from './funding-check.js';

/**
 * Submitting a manifest: validated whole first, then recorded as a batch and queued for the
 * account's workers; waitForBatch (wait.ts) follows it.
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
    /** The file's name as the batch records it (default: the file's base name); the console stores uploads under random names. */
    source?: string;
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
    const source = options.source ?? basename(options.file);
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

