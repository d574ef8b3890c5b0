import type { z } from 'zod';
import { parseCents, parseDollars, type ParsedAmount } from '../money.js';
import type { AnyAdapter } from '../providers/index.js';
import { type AmountColumn, type ManifestLayout, PARTICIPANT_COLUMN, PAYMENT_ID_COLUMN, REIMBURSEMENT_COLUMN } from './header.js';
import { describeCardNumbers, findCardNumbers } from '../card-numbers.js';
import { derivePaymentId, paymentIdProblem } from './payment-id.js';
import type { Problem } from './problems.js';
import type { CsvRecord } from './read-csv.js';

/** A row that passed every rule, ready to be paid. */
export interface ValidatedPayment {
  line: number;
  paymentId: string;
  amountCents: number;
  /** Who receives the money (the adapter's payee: a card or customer id). */
  payee: string;
  /** The adapter row schema's output, keyed by the provider's documented field names. */
  fields: Record<string, string | undefined>;
  /** The participant_id column: the same person across providers and cards, for the tax export. */
  participantId?: string;
  /** The reimbursement column said yes: an expense paid back, kept out of taxable income. */
  reimbursement: boolean;
}

export type ManifestRow =
  | { line: number; ok: true; payment: ValidatedPayment }
  // A rejected row keeps whatever could be read of it, for the report.
  | { line: number; ok: false; problems: Problem[]; paymentId?: string; payee?: string; amountCents?: number };

export interface CheckedRow {
  row: ManifestRow;
  /** Cells holding a card number: they reject the whole manifest. Also among the row's problems. */
  cardNumbers: Problem[];
  /** The payment id came from the payment_id column, not derived from the row's content. */
  paymentIdGiven: boolean;
}

// Shared by the rows that have none: a million rows need not each allocate an empty list and set.
const NO_PROBLEMS = Object.freeze([]) as unknown as Problem[];
const NOTHING_MASKED: ReadonlySet<string | undefined> = new Set();
const EMPTY: ParsedAmount = { ok: false, reason: 'is required and is empty' };

/**
 * Applies the per-row rules: cell count, card numbers, payment_id, the provider's field schema and
 * the amount. A cell holding a card number is not validated further, so no other message can
 * quote its digits.
 */
export function checkRow(record: CsvRecord, layout: ManifestLayout, adapter: AnyAdapter): CheckedRow {
  const { line, cells } = record;
  const cardNumbers = cardNumberProblems(record, layout.names);
  if (cells.length !== layout.width) {
    // Cells cannot be matched to columns reliably once a row is ragged.
    const problem = { line, message: `has ${cells.length} cells but the header has ${layout.width} columns; every row needs one value (or an empty cell) per column` };
    return { row: { line, ok: false, problems: [...cardNumbers, problem] }, cardNumbers, paymentIdGiven: false };
  }

  const masked = cardNumbers.length === 0 ? NOTHING_MASKED : new Set(cardNumbers.map((p) => p.column));
  const problems: Problem[] = [...cardNumbers];
  const value = (index: number): string | undefined => {
    const text = cells[index]!.trim();
    return text === '' ? undefined : text;
  };

  // An empty payment_id cell is derived like a manifest without the column.
  let paymentId: string | undefined;
  if (layout.paymentId !== undefined && !masked.has(PAYMENT_ID_COLUMN)) {
    const given = value(layout.paymentId);
    const problem = given === undefined ? undefined : paymentIdProblem(given);
    if (problem === undefined) paymentId = given;
    else problems.push({ line, column: PAYMENT_ID_COLUMN, message: problem });
  }
  const paymentIdGiven = paymentId !== undefined;

  let fields: Record<string, string | undefined> | undefined;
  const input: Record<string, string | undefined> = {};
  for (const field of layout.fields) input[field.name] = value(field.index);
  const parsed = adapter.manifest.row.safeParse(input);
  if (parsed.success) fields = parsed.data as Record<string, string | undefined>;
  else problems.push(...issueProblems(line, parsed.error.issues).filter((p) => !masked.has(p.column)));

  const finance = readFinanceColumns(line, layout, value, masked);
  if (finance.problems.length > 0) problems.push(...finance.problems);

  let amountCents: number | undefined;
  if (!masked.has(layout.amount.name)) {
    const amount = readAmount(layout.amount.name, value(layout.amount.index));
    if (amount.ok) amountCents = amount.cents;
    else problems.push({ line, column: layout.amount.name, message: amount.reason });
  }

  // Nothing read from a row with a card number leaves this function: any of it may be the number.
  const readable = cardNumbers.length === 0;
  const payee = fields !== undefined && readable ? String(adapter.manifest.payee(fields)) : undefined;
  paymentId ??= fields !== undefined && amountCents !== undefined && readable ? derivePaymentId(adapter.id, fields, amountCents) : undefined;
  if (problems.length === 0 && fields !== undefined && amountCents !== undefined && paymentId !== undefined && payee !== undefined) {
    const payment = { line, paymentId, amountCents, payee, fields, reimbursement: finance.reimbursement, ...(finance.participantId === undefined ? {} : { participantId: finance.participantId }) };
    return { row: { line, ok: true, payment }, cardNumbers, paymentIdGiven };
  }
  const position = (p: Problem) => (p.column === undefined ? layout.width : layout.names.indexOf(p.column));
  return {
    row: {
      line,
      ok: false,
      // In the order of the columns in the file, the way the user reads the row.
      problems: problems.sort((a, b) => position(a) - position(b)),
      ...(paymentId === undefined ? {} : { paymentId }),
      ...(payee === undefined ? {} : { payee }),
      ...(amountCents === undefined ? {} : { amountCents }),
    },
    cardNumbers,
    paymentIdGiven,
  };
}

const PARTICIPANT_ID = /^[^\p{Cc}]{1,40}$/u;
const YES = new Set(['yes', 'y', 'true', '1']);
const NO = new Set(['no', 'n', 'false', '0']);

/** participant_id and reimbursement: ours, for finance, never sent to the provider. */
function readFinanceColumns(line: number, layout: ManifestLayout, value: (index: number) => string | undefined, masked: ReadonlySet<string | undefined>) {
  const problems: Problem[] = [];
  let participantId: string | undefined;
  if (layout.participantId !== undefined && !masked.has(PARTICIPANT_COLUMN)) {
    participantId = value(layout.participantId);
    if (participantId !== undefined && !PARTICIPANT_ID.test(participantId)) {
      problems.push({ line, column: PARTICIPANT_COLUMN, message: 'must be at most 40 characters with no control characters' });
      participantId = undefined;
    }
  }
  let reimbursement = false;
  if (layout.reimbursement !== undefined && !masked.has(REIMBURSEMENT_COLUMN)) {
    const written = value(layout.reimbursement)?.toLowerCase();
    if (written !== undefined && YES.has(written)) reimbursement = true;
    else if (written !== undefined && !NO.has(written)) problems.push({ line, column: REIMBURSEMENT_COLUMN, message: 'must be yes or no (empty means no)' });
  }
  return { problems, participantId, reimbursement };
}

/**
 * Cells holding a card number anywhere in their text (card-numbers.ts), by the column `names` gives
 * each cell. The message shows only each number's last four digits.
 */
export function cardNumberProblems({ line, cells }: CsvRecord, names: readonly string[]): Problem[] {
  let found: Problem[] | undefined;
  for (let index = 0; index < cells.length; index += 1) {
    const numbers = findCardNumbers(cells[index]!);
    if (numbers.length === 0) continue;
    const message = `${describeCardNumbers(numbers)}; card numbers never belong in a manifest`;
    const column = names[index];
    (found ??= []).push(column === undefined ? { line, message: `cell ${index + 1} ${message}` } : { line, column, message });
  }
  return found ?? NO_PROBLEMS;
}

/** Each schema issue is a problem of the documented field it concerns (the issue's path). */
export function issueProblems(line: number, issues: readonly z.core.$ZodIssue[]): Problem[] {
  return issues.map((issue) => {
    const column = issue.path[0];
    return typeof column === 'string' ? { line, column, message: issue.message } : { line, message: issue.message };
  });
}

function readAmount(column: AmountColumn, text: string | undefined): ParsedAmount {
  if (text === undefined) return EMPTY;
  return column === 'amount' ? parseDollars(text) : parseCents(text);
}
