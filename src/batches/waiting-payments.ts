import type { Account } from '../config/load.js';
import type { StipendContext } from '../context.js';
import { accountPausedForMs } from '../limits/account-gate.js';

/** A batch's payments not final yet, and what holds them up. */
export interface WaitingPayments {
  /** How many wait in the queue and how many are being sent. */
  queued: number;
  sending: number;
  /** The last answer of each queued payment that was tried, by code: how many, and one message. */
  answers: Map<string, { count: number; message: string }>;
  /** How long the account's gate stays paused (a provider asked to slow down); 0 when it is not. */
  pausedMs: number;
}

/**
 * What a batch still waits on, for an operator following it. Reads its open payments (three fields
 * each, pipelined a page at a time, as the sweeper does), so it is meant for every minute or so,
 * not for every poll.
 */
export async function waitingPayments(context: StipendContext, account: Account, batchId: string): Promise<WaitingPayments> {
  const ledger = context.payments(account);
  const waiting: WaitingPayments = { queued: 0, sending: 0, answers: new Map(), pausedMs: 0 };
  for await (const page of context.rows.pages(batchId)) {
    const refs = page.flatMap((row) => (row.kind === 'payment' ? [{ batchId, paymentId: row.paymentId }] : []));
    for (const { status, code, message } of await ledger.readMany(refs, ['status', 'code', 'message'])) {
      if (status === 'sending') waiting.sending += 1;
      if (status !== 'queued') continue;
      waiting.queued += 1;
      if (code == null) continue;
      const answer = waiting.answers.get(code) ?? { count: 0, message: message ?? '' };
      answer.count += 1;
      waiting.answers.set(code, answer);
    }
  }
  waiting.pausedMs = await accountPausedForMs(context.redis, context.keys, account);
  return waiting;
}
