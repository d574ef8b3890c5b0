import type { Account } from '../config/load.js';
import type { StipendContext } from '../context.js';
import { UsageError } from '../errors.js';
import { formatDollars } from '../money.js';
import type { UndecidedOutcome } from '../providers/outcome.js';
import type { CardDetails } from '../providers/types.js';
import { openAccountClient } from '../sending/account-clients.js';
import { cancellation } from './assignment-manifest.js';
import { CardCommandError } from './card-errors.js';
import { type CardCalls, type CardClient, requireCardCalls } from './ctpayer-account.js';
import { CARD_CALL_ATTEMPTS, pauseAfter } from './retry-card-call.js';

export interface CardCancellation {
  cardId: string;
  result: 'canceled' | 'already_canceled';
  /** What the card held when it was canceled: it stays on the card. */
  balanceCents: number;
}

/**
 * `stipend cards cancel`: setcardstatus CANCELED, through the account's rate-limit gate. A card
 * that still holds money is only canceled with `withBalance`: the participant would lose access to
 * it. The card is read before and, after an unanswered call, again, so a cancel never errs on a
 * card it already canceled.
 */
export async function cancelCard(context: StipendContext, account: Account, input: { cardId: string; reason: string; withBalance?: boolean }): Promise<CardCancellation> {
  const cards = requireCardCalls(account);
  const parsed = cancellation.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new UsageError(`${issue.path[0] === 'reason' ? '--reason' : 'cardId'}: ${issue.message}`);
  }
  const { cardId, reason } = parsed.data;
  const accountClient = await openAccountClient(context, account);
  try {
    const client = accountClient.provider;
    let last: UndecidedOutcome | undefined;
    for (let attempt = 0; attempt < CARD_CALL_ATTEMPTS; attempt += 1) {
      const card = await readCard(cards, client, cardId, last?.kind === 'unknown');
      if (card.cardStatus === 'CANCELED') return { cardId, result: last === undefined ? 'already_canceled' : 'canceled', balanceCents: card.balanceCents };
      if (card.balanceCents > 0 && !input.withBalance) {
        throw new CardCommandError('CARD_HOLDS_BALANCE', `card ${cardId} still holds $${formatDollars(card.balanceCents)}; canceling it leaves that money out of the participant's reach. Nothing was changed; add --with-balance to cancel it anyway`);
      }
      await pauseAfter(last);
      const change = await cards.cancel(client, cardId, reason);
      if (change.kind === 'done') return { cardId, result: 'canceled', balanceCents: card.balanceCents };
      if (change.kind === 'refused') throw new CardCommandError(change.code, `CT Payer refused to cancel card ${cardId}: ${change.code} ${change.message}`.trim());
      last = change;
    }
    throw new CardCommandError(last!.code, `card ${cardId} is not canceled after ${CARD_CALL_ATTEMPTS} attempts: ${last!.message}`);
  } finally {
    await accountClient.close();
  }
}

async function readCard(cards: CardCalls, client: CardClient, cardId: string, afterUnanswered: boolean): Promise<CardDetails> {
  try {
    return await cards.details(client, cardId);
  } catch (error) {
    const state = afterUnanswered ? 'a cancel request went unanswered, so the card may be canceled; run the command again to find out' : 'nothing was changed';
    throw new CardCommandError('CARD_UNREADABLE', `cannot read card ${cardId} (${(error as Error).message}): ${state}`);
  }
}
