import type { AnyAdapter } from '../providers/index.js';
import { type Problem, quoted } from './problems.js';
import type { CsvRecord } from './read-csv.js';

/** The amount columns a manifest may use: dollars (parseDollars) or whole cents (parseCents). */
export const AMOUNT_COLUMNS = ['amount', 'amount_cents'] as const;
export type AmountColumn = (typeof AMOUNT_COLUMNS)[number];
export const PAYMENT_ID_COLUMN = 'payment_id';
/**
 * Columns of ours that any provider's manifest may carry; they are kept in the ledger for finance
 * (the tax export) and never sent to the provider: who the participant is across providers, and
 * whether the payment reimburses an expense (not taxable income) rather than a stipend.
 */
export const PARTICIPANT_COLUMN = 'participant_id';
export const REIMBURSEMENT_COLUMN = 'reimbursement';

/** Where each known column sits in a row, by its canonical name. */
export interface ManifestLayout {
  /** Cells a row must have. */
  width: number;
  /** Canonical column name of each cell, for problems. */
  names: string[];
  /** The provider's documented fields present in the header. */
  fields: { name: string; index: number }[];
  amount: { name: AmountColumn; index: number };
  paymentId?: number;
  participantId?: number;
  reimbursement?: number;
}

export type HeaderCheck = { ok: true; layout: ManifestLayout } | { ok: false; problems: Problem[] };

/** Where each named column of a header sits, by canonical name, and what is wrong with the header. */
export interface ColumnMatch {
  positions: Map<string, number>;
  /** Canonical column name of each cell. */
  names: string[];
  problems: Problem[];
}

/**
 * Matches a header against the columns a kind of manifest allows (any case, surrounding spaces
 * ignored). Anything else is a problem, since a misspelt column would otherwise silently drop its
 * data; so are a column twice, an unnamed one and a missing required one. `kind` names the
 * manifests in messages: "CT Payer manifests".
 */
export function matchColumns({ line, cells }: CsvRecord, allowed: readonly string[], required: readonly string[], kind: string): ColumnMatch {
  const canonical = new Map(allowed.map((name) => [name.toLowerCase(), name]));
  const problems: Problem[] = [];
  const positions = new Map<string, number>();

  cells.forEach((cell, index) => {
    const written = cell.trim();
    const name = canonical.get(written.toLowerCase());
    if (written === '') {
      problems.push({ line, message: `column ${index + 1} has no name in the header; every column needs one` });
    } else if (name === undefined && cells.length === 1) {
      // The whole line is that cell: a file that is not CSV (or not comma-separated) is not quoted.
      problems.push({ line, message: `no column names separated by commas${separatorHint(written)}; the columns ${kind} use are: ${allowed.join(', ')}` });
    } else if (name === undefined) {
      problems.push({ line, message: `unknown column ${quoted(written)}${separatorHint(written)}; the columns ${kind} use are: ${allowed.join(', ')}` });
    } else if (positions.has(name)) {
      problems.push({ line, column: name, message: `appears twice in the header (columns ${positions.get(name)! + 1} and ${index + 1})` });
    } else {
      positions.set(name, index);
    }
  });
  for (const name of required) {
    if (!positions.has(name)) problems.push({ line, message: `missing required column "${name}"` });
  }
  return { positions, names: cells.map((cell) => canonical.get(cell.trim().toLowerCase())!), problems };
}

/**
 * Reads a payment manifest's header: the provider's documented field names, exactly one amount
 * column, and the optional payment_id, participant_id and reimbursement.
 */
export function readHeader(record: CsvRecord, adapter: AnyAdapter): HeaderCheck {
  const allowed = [PAYMENT_ID_COLUMN, ...adapter.manifest.columns.map((c) => c.name), ...AMOUNT_COLUMNS, PARTICIPANT_COLUMN, REIMBURSEMENT_COLUMN];
  const required = adapter.manifest.columns.filter((c) => c.required).map((c) => c.name);
  const { positions, names, problems } = matchColumns(record, allowed, required, `${adapter.name} manifests`);
  const { line } = record;
  const amounts = AMOUNT_COLUMNS.filter((name) => positions.has(name));
  if (amounts.length === 0) {
    problems.push({ line, message: 'missing the amount column: add "amount" (dollars, e.g. 12.50) or "amount_cents" (whole cents, e.g. 1250)' });
  } else if (amounts.length === 2) {
    problems.push({ line, message: 'has both "amount" and "amount_cents"; keep one, so each row has a single amount' });
  }
  if (problems.length > 0) return { ok: false, problems };

  const amount = amounts[0]!;
  const optional = { paymentId: PAYMENT_ID_COLUMN, participantId: PARTICIPANT_COLUMN, reimbursement: REIMBURSEMENT_COLUMN } as const;
  const present = Object.entries(optional).flatMap(([key, name]) => (positions.has(name) ? [[key, positions.get(name)!] as const] : []));
  return {
    ok: true,
    layout: {
      width: record.cells.length,
      names,
      fields: adapter.manifest.columns.flatMap((c) => (positions.has(c.name) ? [{ name: c.name, index: positions.get(c.name)! }] : [])),
      amount: { name: amount, index: positions.get(amount)! },
      ...Object.fromEntries(present),
    },
  };
}

/** A whole header in one cell usually means the file was saved with ; or tabs between values. */
function separatorHint(written: string): string {
  const separator = [';', '\t', '|'].find((s) => written.includes(s));
  return separator === undefined ? '' : ` (the file seems to use ${separator === '\t' ? 'tabs' : separator} between values; save it with commas)`;
}
