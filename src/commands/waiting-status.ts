import type { Account } from '../config/load.js';
import type { StipendContext } from '../context.js';
import { accountPausedForMs } from '../limits/account-gate.js';

// The codes a provider's "slow down" answers are recorded with (providers/contract-rules.ts).
const SLOW_DOWN = /^HTTP_(429|503)$/;

/** A batch's payments not final yet: how many wait in the queue and how many are being sent, and the answers they last got. */
interface OpenPayments {
  queued: number;
  sending: number;
  /** The last answer of each queued payment that was tried, by code: how many, and one message. */
  answers: Map<string, { count: number; message: string }>;
}

/**
 * One line for an operator waiting on a batch: what waits and why, e.g. "42 payments queued for
 * ptapi/main: provider asked to slow down (503) until 12:03:10". Reads the batch's open payments
 * (three fields each, pipelined a page at a time, as the sweeper does), so it is meant for every
 * minute or so, not for every poll.
 */
export async function describeWaiting(context: StipendContext, account: Account, batchId: string, workersRunning: number): Promise<string> {
  const open = await openPayments(context, account, batchId);
  const what = [`${open.queued} payment${open.queued === 1 ? '' : 's'} queued`, ...(open.sending > 0 ? [`${open.sending} being sent`] : [])].join(', ');
  return `${what} for ${account.provider}/${account.name}: ${await why(context, account, open, workersRunning)}`;
}

async function why(context: StipendContext, account: Account, open: OpenPayments, workersRunning: number): Promise<string> {
  if (workersRunning === 0) return 'no worker is running (start one with `stipend worker`)';
  const pausedMs = await accountPausedForMs(context.redis, context.keys, account);
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

async function openPayments(context: StipendContext, account: Account, batchId: string): Promise<OpenPayments> {
  const ledger = context.payments(account);
  const open: OpenPayments = { queued: 0, sending: 0, answers: new Map() };
  for await (const page of context.rows.pages(batchId)) {
    const refs = page.flatMap((row) => (row.s === 'payment' ? [{ batchId, paymentId: row.p }] : []));
    for (const { status, code, message } of await ledger.readMany(refs, ['status', 'code', 'message'])) {
      if (status === 'sending') open.sending += 1;
      if (status !== 'queued') continue;
      open.queued += 1;
      if (code == null) continue;
      const answer = open.answers.get(code) ?? { count: 0, message: message ?? '' };
      answer.count += 1;
      open.answers.set(code, answer);
    }
  }
  return open;
}
