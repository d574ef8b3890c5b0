import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { stringify } from 'csv-stringify/sync';
import pLimit from 'p-limit';
import type { Account } from '../config/load.js';
import type { StipendContext } from '../context.js';
import { type Problem, readTable } from '../manifest/index.js';
import type { UndecidedOutcome } from '../providers/outcome.js';
import type { CardDetails } from '../providers/types.js';
import { safeCell } from '../reports/safe-cell.js';
import { openAccountClient } from '../sending/account-clients.js';
import { type CardAssignment, assignmentManifest } from './assignment-manifest.js';
import { type CardCalls, type CardClient, requireCardCalls } from './ctpayer-account.js';
import { CARD_CALL_ATTEMPTS, pauseAfter } from './retry-card-call.js';

/**
 * - assigned: this run gave the card to the participant.
 * - already_assigned: the card was already the participant's (a file run twice changes nothing).
 * - failed: nothing changed (card unknown, canceled, another participant's, or refused).
 * - unknown: an assign call went unanswered and the card could not be read afterwards.
 */
export type AssignmentResult = 'assigned' | 'already_assigned' | 'failed' | 'unknown';

export interface AssignmentOutcome extends CardAssignment {
  line: number;
  result: AssignmentResult;
  code: string;
  message: string;
}

export type AssignCardsResult = { valid: false; problems: Problem[] } | { valid: true; outcomes: AssignmentOutcome[]; reportFile: string };

const REPORT_COLUMNS = ['line', 'cardId', 'participantId', 'result', 'code', 'message'] as const;

/**
 * `stipend cards assign`: validates the whole manifest first (an invalid one changes nothing), then
 * assigns each card through the account's rate-limit gate, a few at a time, and writes one report
 * row per manifest row. Each card is read before it is assigned, so a manifest run twice, or after a
 * lost answer, never errs on cards it already assigned.
 */
export async function assignCards(context: StipendContext, account: Account, file: string, options: { out: string; concurrency?: number }): Promise<AssignCardsResult> {
  const cards = requireCardCalls(account);
  const table = await readTable(file, assignmentManifest);
  if (table.problems.length > 0) return { valid: false, problems: table.problems };

  const accountClient = await openAccountClient(context, account);
  try {
    const client = accountClient.provider;
    const limit = pLimit(options.concurrency ?? 4);
    const outcomes = await Promise.all(table.rows.map(({ line, value }) => limit(async () => ({ line, ...value, ...(await assignOne(cards, client, value)) }))));
    await mkdir(dirname(options.out), { recursive: true });
    await writeFile(options.out, stringify(outcomes, { header: true, columns: [...REPORT_COLUMNS], cast: { string: safeCell } }));
    return { valid: true, outcomes, reportFile: options.out };
  } finally {
    await accountClient.close();
  }
}

async function assignOne(cards: CardCalls, client: CardClient, { cardId, participantId }: CardAssignment): Promise<Pick<AssignmentOutcome, 'result' | 'code' | 'message'>> {
  // The last answer that settled nothing (retry later, or none): undefined until an assign is sent.
  let last: UndecidedOutcome | undefined;
  for (let attempt = 0; attempt < CARD_CALL_ATTEMPTS; attempt += 1) {
    let card: CardDetails;
    try {
      card = await cards.details(client, cardId);
    } catch (error) {
      const message = (error as Error).message;
      // After an unanswered assign, not being able to look is not knowing.
      return last?.kind === 'unknown' ? { result: 'unknown', code: last.code, message: `${last.message}; then the card could not be read: ${message}` } : { result: 'failed', code: 'CARD_UNREADABLE', message };
    }
    if (card.cardStatus === 'ACTIVE' && card.participantId === participantId) {
      return last === undefined ? { result: 'already_assigned', code: 'ACTIVE', message: 'the card was already this participant\'s' } : { result: 'assigned', code: 'success', message: '' };
    }
    if (card.cardStatus === 'ACTIVE') return { result: 'failed', code: 'CARD_ASSIGNED', message: `the card is assigned to participant ${card.participantId}` };
    if (card.cardStatus !== 'UNASSIGNED') return { result: 'failed', code: `CARD_${card.cardStatus}`, message: `the card is ${card.cardStatus}; only an UNASSIGNED card can be assigned` };

    await pauseAfter(last);
    const change = await cards.assign(client, cardId, participantId);
    if (change.kind === 'done') return { result: 'assigned', code: 'success', message: '' };
    if (change.kind === 'refused') return { result: 'failed', code: change.code, message: change.message };
    last = change;
    // Retry later, or no answer: reading the card again says whether it was assigned.
  }
  // The card was still UNASSIGNED when last read: nothing changed.
  return { result: 'failed', code: last!.code, message: `${last!.message} (after ${CARD_CALL_ATTEMPTS} attempts)` };
}
