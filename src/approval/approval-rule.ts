import { usd } from '../readable-numbers.js';
import type { Account } from '../config/load.js';
import { parseBalanceDollars } from '../money.js';

/**
 * An account's maker-checker rule (`approval` in its configuration): none, every batch, or batches
 * whose total is above a threshold. Applied twice: by the submitter, who holds such a batch before
 * queuing it, and by every worker before it sends a payment, against the total recorded on the
 * batch at submission (approval/worker-approval.ts). Either one's rule is enough to need approval.
 */

/** The account's rule applied to a batch's total: why it needs approval, or undefined when it does not. */
export function approvalReason(account: Account, totalCents: number): string | undefined {
  if (account.approval === undefined) return undefined;
  const where = `${account.provider}/${account.name}`;
  if (account.approval === 'always') return `${where} requires approval for every batch`;
  const thresholdCents = thresholdOf(account.approval);
  return totalCents > thresholdCents ? `the batch totals ${usd(totalCents)}, above ${where}'s approval threshold of ${usd(thresholdCents)}` : undefined;
}

/** The rule as recorded on a batch (`approval_rule`) and in the audit trail: none, always, or above $5,000.00. */
export function describeApprovalRule(account: Account): string {
  if (account.approval === undefined) return 'none';
  if (account.approval === 'always') return 'always';
  return `above ${usd(thresholdOf(account.approval))}`;
}

function thresholdOf(rule: { above: string }): number {
  return parseBalanceDollars(rule.above) ?? 0;
}
