import { approvalReason } from '../approval/approval-rule.js';
import type { Account } from '../config/load.js';
import type { StipendContext } from '../context.js';
import { heldInAccounts } from '../ledger/claims.js';
import type { BatchRecord } from '../ledger/batches.js';
import { type ManifestRow, type ManifestScan, type ValidatedPayment, manifestRows } from '../manifest/index.js';
import { withManifestSnapshot } from '../manifest/snapshot.js';
import { spacingMs } from '../limits/account-gate.js';
import { refuseOtherAccountDuplicates } from '../queue/other-accounts.js';
import { peekFundingBalanceCents } from '../sending/funding-balance-peek.js';
import { type FundingCheck, checkFunding } from './funding-check.js';
import { type SubmitProgress, isAcceptable, scanSnapshot } from './submit.js';

/**
 * `stipend run --dry-run`: what submitManifest would decide about a manifest, decided the same way,
 * without doing any of it. Every step before queuing is taken (the scan, the provider's other
 * accounts, the funding balance, the approval rule) and what run would skip is looked up; nothing
 * is written to Redis (no batch, no claim, no hold on the file, no rate-limit entry) and the only
 * call to the provider is the balance read (sending/funding-balance-peek.ts).
 */

export type DryRunResult =
  /** As submitManifest's refusal: the manifest is invalid, or the funding account holds too little. */
  | { accepted: false; scan: ManifestScan; refusal?: string }
  | {
      accepted: true;
      scan: ManifestScan;
      /** The batch this very file (by SHA-256) already became through the account, if any. */
      earlier?: BatchRecord;
      /** Another process is queuing this file right now: run would be refused (EnqueueBusyError). */
      busy: boolean;
      /** Valid rows whose payment an earlier batch holds (paid, being paid, or unknown): run skips them. */
      held: HeldRows;
      funding: FundingCheck;
      /** Why run would hold the batch for `stipend approve`; undefined when it would not. */
      approval?: string;
      /** What run would queue: the valid rows not held, and how long paying them takes at the account's rate limit. */
      toPay: { payments: number; cents: number; ms: number };
    };

export interface HeldRows {
  rows: number;
  cents: number;
  first?: { paymentId: string; batchId: string };
}

export async function dryRunManifest(
  context: StipendContext,
  options: { file: string; account: Account; allowPartial?: boolean; allowOtherAccount?: boolean; onProgress?: (progress: SubmitProgress) => void },
): Promise<DryRunResult> {
  const { account, onProgress } = options;
  return withManifestSnapshot(options.file, async (snapshot) => {
    const scan = await scanSnapshot(snapshot, account.adapter, onProgress);
    if (!isAcceptable(scan, options.allowPartial ?? false)) return { accepted: false, scan };
    const earlier = await context.batches.ofFile(account.provider, account.name, scan.sha256);
    // run finishes a batch whose enqueue was cut short instead of making a new one, and checks neither
    // the other accounts nor the funding for it: they were checked when that batch was made.
    const interrupted = earlier?.state === 'enqueuing' ? earlier : undefined;
    const rows = () => manifestRows(snapshot, account.adapter);
    let funding: FundingCheck = {};
    if (interrupted === undefined) {
      if (!options.allowOtherAccount) await refuseOtherAccountDuplicates(context, account, scan.sha256, rows());
      if (account.adapter.balance) onProgress?.({ stage: 'funding' });
      funding = await checkFunding(context, account, scan.validCents, peekFundingBalanceCents);
      if (funding.refusal !== undefined) return { accepted: false, scan, refusal: funding.refusal };
    }
    const held = await heldRows(context, account, rows(), interrupted?.batch_id);
    const payments = scan.validRows - held.rows;
    const approval = approvalReason(account, scan.validCents);
    return {
      accepted: true,
      scan,
      ...(earlier === undefined ? {} : { earlier }),
      busy: (await context.redis.exists(context.keys.enqueueLock(account.provider, scan.sha256))) === 1,
      held,
      funding,
      ...(approval === undefined ? {} : { approval }),
      toPay: { payments, cents: scan.validCents - held.cents, ms: payments * spacingMs(account.rateLimit) },
    };
  });
}

// Payment ids looked up per round trip.
const PAGE = 500;

/**
 * The valid rows whose payment a batch of the account holds, as the claims would find them
 * (ledger/claims.ts, read-only). `resumed`: the batch run would finish, whose own claims are no duplicates.
 */
async function heldRows(context: StipendContext, account: Account, rows: AsyncIterable<ManifestRow>, resumed: string | undefined): Promise<HeldRows> {
  const held: HeldRows = { rows: 0, cents: 0 };
  let page: ValidatedPayment[] = [];
  const check = async () => {
    const holders = await heldInAccounts(context.redis, context.keys, account.provider, [account.name], page.map((p) => p.paymentId));
    holders.forEach((holder, i) => {
      if (holder === undefined || holder.batchId === resumed) return;
      const payment = page[i]!;
      held.rows += 1;
      held.cents += payment.amountCents;
      held.first ??= { paymentId: payment.paymentId, batchId: holder.batchId };
    });
    page = [];
  };
  for await (const row of rows) {
    if (!row.ok) continue;
    page.push(row.payment);
    if (page.length >= PAGE) await check();
  }
  await check();
  return held;
}
