import { type WaitingPayments, waitingPayments } from '../batches/waiting-payments.js';
import type { Account } from '../config/load.js';
import type { StipendContext } from '../context.js';

// The codes a provider's "slow down" answers are recorded with (providers/contract-rules.ts).
const SLOW_DOWN = /^HTTP_(429|503)$/;

/**
 * One line for an operator waiting on a batch: what waits and why, e.g. "42 payments queued for
 * ptapi/main: provider asked to slow down (503) until 12:03:10". Meant for every minute or so, not
 * for every poll (waitingPayments reads every open payment).
 */
export async function describeWaiting(context: StipendContext, account: Account, batchId: string, workersRunning: number): Promise<string> {
  const open = await waitingPayments(context, account, batchId);
  const what = [`${open.queued} payment${open.queued === 1 ? '' : 's'} queued`, ...(open.sending > 0 ? [`${open.sending} being sent`] : [])].join(', ');
  return `${what} for ${account.provider}/${account.name}: ${why(open, workersRunning)}`;
}

function why(open: WaitingPayments, workersRunning: number): string {
  if (workersRunning === 0) return 'no worker is running (start one with `stipend worker`)';
  const { pausedMs } = open;
  const byCount = [...open.answers].sort((a, b) => b[1].count - a[1].count);
  const slowDown = byCount.find(([code]) => SLOW_DOWN.test(code));
  if (pausedMs > 0 || slowDown) {
    const status = slowDown ? ` (${slowDown[0].replace('HTTP_', '')})` : '';
    const until = pausedMs > 0 ? ` until ${new Date(Date.now() + pausedMs).toTimeString().slice(0, 8)}` : '; sending again';
    return `provider asked to slow down${status}${until}`;
  }
  const [latest] = byCount;
  if (latest) return `provider answered ${latest[0]} (${latest[1].message}); trying again with backoff`;
  return open.sending > 0 ? 'being paid' : 'waiting for a worker to take them (the account\'s rate limit or other batches first)';
}
