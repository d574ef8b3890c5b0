import type { StipendContext } from '../context.js';
import type { BatchRecord } from '../ledger/batches.js';
import { type RejectedProblem, rejectedProblems } from '../reports/rejected-csv.js';
import { type ReportRow, conflictOf, reportRows } from '../reports/report-rows.js';

/**
 * The rows of a batch that a person must act on, or should know about, each with what to do next:
 * what `stipend status <batchId> --problems` lists. Read from the same join as the reconciliation
 * report (reports/report-rows.ts), so the two never disagree, and never a card number (only the report's
 * fields leave the ledger).
 */

/** The kinds, in the order they are listed: a person's work first, then what is only to know. */
export const ACTION_KINDS = ['unknown', 'reversal_unknown', 'conflict', 'failed', 'declined', 'rejected'] as const;
export type ActionKind = (typeof ACTION_KINDS)[number];

export interface RowNeedingAction {
  kind: ActionKind;
  line: number;
  /** Empty for a rejected row without a payment id. */
  paymentId: string;
  payee: string;
  participantId: string | undefined;
  cents: number | undefined;
  /** The row's status in the report (a conflict keeps the status the ledger gave it). */
  status: string;
  /** The provider's last code and message (of the reversal's call, for a reversal in doubt). */
  code: string | undefined;
  message: string | undefined;
  /** A rejected row's validation problems, card numbers removed (reports/rejected-csv.ts); undefined for other rows. */
  problems: RejectedProblem[] | undefined;
  /** For a conflict: the late or second paid answer, `SECOND_PAID (reference T-1)`. */
  conflict: string | undefined;
  /** What to do next, in full (with the command, where one settles it). */
  action: string;
}

/**
 * What each kind asks, worded for one row and for a group alike: advice, and the command that
 * settles one row where there is one (the exact syntax of src/cli.ts).
 */
export const KIND_ADVICE: Record<ActionKind, { advice: (batchId: string) => string; command?: (batchId: string, paymentId: string) => string }> = {
  unknown: {
    advice: () => 'the answer was lost and the money may have moved: check with the provider, then record what happened',
    command: (batchId, paymentId) => `stipend resolve ${batchId} ${paymentId} --paid <reference> | --not-paid --by <name>`,
  },
  reversal_unknown: {
    advice: () => 'the reversal\'s answer was lost and the money may have come back: check with the provider, then record what happened',
    command: (batchId, paymentId) => `stipend resolve ${batchId} ${paymentId} --reversed <reference> | --not-reversed --by <name>`,
  },
  conflict: {
    advice: () => 'the provider answered paid after the ledger had settled the payment otherwise: check with the provider and put it right there (stipend retry never sends such a payment again)',
  },
  failed: {
    advice: (batchId) => `nothing was applied: stipend retry ${batchId} sends the batch's failed payments again`,
  },
  declined: {
    advice: () => 'the provider declined it and nothing moved; sending it again will not help: fix the card or the amount and submit a new manifest',
  },
  rejected: {
    advice: () => 'it failed validation and was never queued (--allow-partial paid the other rows): correct it and submit it in a new manifest',
  },
};

/**
 * The batch's rows needing action, a page at a time in file order (memory flat however large the
 * batch). Rows not final yet are not among them: the batch's counts say how many there are.
 */
export async function* rowsNeedingAction(context: StipendContext, batch: BatchRecord): AsyncGenerator<RowNeedingAction[]> {
  for await (const page of reportRows(context, batch)) {
    yield page.flatMap((row) => {
      const kind = actionKind(batch, row);
      return kind === undefined ? [] : [needingAction(batch.batch_id, kind, row)];
    });
  }
}

/** What a row asks of a person, if anything: paid, reversed, skipped, canceled and pending rows ask nothing. */
export function actionKind(batch: Pick<BatchRecord, 'state'>, row: ReportRow): ActionKind | undefined {
  // A conflict outweighs the status it came with: whatever the row says, the provider may disagree.
  if (row.ledger.conflict_code) return 'conflict';
  switch (row.status) {
    case 'unknown':
    case 'reversal_unknown':
    case 'declined':
    case 'rejected':
      return row.status;
    case 'failed':
      // A canceled batch's rows end failed on purpose, nothing sent: there is nothing to retry.
      return batch.state === 'canceled' ? undefined : 'failed';
    default:
      return undefined;
  }
}

function needingAction(batchId: string, kind: ActionKind, row: ReportRow): RowNeedingAction {
  const { advice, command } = KIND_ADVICE[kind];
  const { ledger } = row;
  return {
    kind,
    line: row.line,
    paymentId: row.paymentId,
    payee: row.payee,
    participantId: ledger.participant_id ?? undefined,
    cents: row.cents,
    status: row.status,
    // A reversal in doubt is about the reversal's call, not the payment's (which was paid).
    code: (kind === 'reversal_unknown' ? ledger.reversal_code : ledger.code) ?? undefined,
    // A rejected row's message is its problems, which may quote a cell: given as problems instead.
    message: row.rejected === undefined ? ((kind === 'reversal_unknown' ? ledger.reversal_message : ledger.message) ?? undefined) : undefined,
    problems: row.rejected === undefined ? undefined : rejectedProblems(row.rejected),
    conflict: conflictOf(ledger) || undefined,
    action: command ? `${advice(batchId)}: ${command(batchId, row.paymentId)}` : advice(batchId),
  };
}
