import { writeFile } from 'node:fs/promises';
import { stringify } from 'csv-stringify/sync';
import { z } from 'zod';
import type { ResolvedConfig } from '../config/load.js';
import type { StipendContext } from '../context.js';
import { ConfigError } from '../errors.js';
import type { PaymentRecord } from '../ledger/payments.js';
import { formatDollars } from '../money.js';
import { ledgerEntries } from './ledger-entries.js';
import { ledgerPayments } from './ledger-payments.js';
import { safeCell } from './safe-cell.js';
import { writeWholeFiles } from './whole-files.js';

export const taxExportOptions = z.object({
  year: z.string().regex(/^\d{4}$/, { error: 'must be a year like 2026' }).transform(Number),
  out: z.string().min(1),
});
export type TaxExportOptions = z.input<typeof taxExportOptions>;

/** One person's year across providers, accounts and batches. */
export interface ParticipantYear {
  /** The manifests' participant_id; without one, the payee as `provider/account/payee`. */
  participant: string;
  identifiedBy: 'participant_id' | 'payee';
  /** The accounts that paid them, `provider/account`, sorted. */
  accounts: string[];
  payments: number;
  /** Paid stipends: the figure compared with the threshold. */
  taxableCents: number;
  /** Paid reimbursements (the manifest's reimbursement column): kept out of the taxable figure. */
  reimbursementCents: number;
  /** Payments whose outcome is still unknown: if they were paid, the taxable figure is higher. */
  inDoubtCents: number;
  reportable: boolean;
}

// Paid (+), reversed (-, when confirmed) and in doubt. A reversal_unknown entry is left out: until
// someone confirms the money came back, the participant has it.
const COUNTED = new Set<string>(['paid', 'reversed', 'unknown']);

const COLUMNS = [
  'participant', 'identified_by', 'accounts', 'payments', 'taxable_cents', 'taxable', 'reimbursement_cents', 'reimbursement',
  'in_doubt_cents', 'in_doubt', 'threshold', 'at_or_above_threshold',
] as const;

/**
 * Year-to-date totals per participant for information returns (US 1099-MISC): every payment paid in
 * the tax year (UTC), from the ledger across providers and batches. A participant is flagged when
 * their paid stipends, reimbursements left out, reach the year's configured threshold. A payment
 * reversed in the year counts against the year (a negative entry when the reversal was confirmed),
 * like in the finance export; one whose reversal is under way or in doubt still counts as paid.
 */
export async function writeTaxExport(context: StipendContext, input: TaxExportOptions): Promise<{ file: string; year: number; thresholdCents: number; participants: ParticipantYear[] }> {
  const { year, out } = taxExportOptions.parse(input);
  const thresholdCents = thresholdFor(context.config, year);
  const startMs = Date.UTC(year, 0, 1);
  const endMs = Date.UTC(year + 1, 0, 1);
  const people = new Map<string, ParticipantYear & { accountSet: Set<string> }>();

  // A payment settles after its batch is created, so batches created after the year cannot hold one.
  for await (const { record } of ledgerPayments(context, endMs)) {
    // The same entries as the finance export: a payment when it was paid, its reversal when that was confirmed.
    const entries = ledgerEntries(record).filter((e) => COUNTED.has(e.status) && Date.parse(e.at) >= startMs && Date.parse(e.at) < endMs);
    if (entries.length === 0) continue;
    const { participant, identifiedBy } = identify(record);
    const person = people.get(participant) ?? { participant, identifiedBy, accounts: [], accountSet: new Set(), payments: 0, taxableCents: 0, reimbursementCents: 0, inDoubtCents: 0, reportable: false };
    person.accountSet.add(`${record.provider}/${record.account}`);
    for (const entry of entries) {
      if (entry.status === 'unknown') person.inDoubtCents += entry.cents;
      else if (record.reimbursement === '1') person.reimbursementCents += entry.cents;
      else person.taxableCents += entry.cents;
      if (entry.status === 'paid') person.payments += 1;
    }
    people.set(participant, person);
  }

  const participants = [...people.values()]
    .map(({ accountSet, ...person }) => ({ ...person, accounts: [...accountSet].sort(), reportable: person.taxableCents >= thresholdCents }))
    // Participants by id first; rows known only by payee after them, for a person to match up.
    .sort((a, b) => Number(a.identifiedBy === 'payee') - Number(b.identifiedBy === 'payee') || a.participant.localeCompare(b.participant));
  const rows = participants.map((p) => ({
    participant: p.participant, identified_by: p.identifiedBy, accounts: p.accounts.join(' '), payments: p.payments,
    taxable_cents: p.taxableCents, taxable: formatDollars(p.taxableCents), reimbursement_cents: p.reimbursementCents, reimbursement: formatDollars(p.reimbursementCents),
    in_doubt_cents: p.inDoubtCents, in_doubt: formatDollars(p.inDoubtCents), threshold: formatDollars(thresholdCents), at_or_above_threshold: p.reportable ? 'yes' : 'no',
  }));
  const csv = stringify(rows, { header: true, columns: [...COLUMNS], cast: { string: safeCell } });
  await writeWholeFiles([out], ([temp]) => writeFile(temp!, csv));
  return { file: out, year, thresholdCents, participants };
}

/** The entry for the latest first year not after `year`. */
export function thresholdFor(config: Pick<ResolvedConfig, 'taxThresholds' | 'source'>, year: number): number {
  const entry = config.taxThresholds.filter((t) => t.fromYear <= year).at(-1);
  if (entry === undefined) throw new ConfigError(`${config.source}: taxThresholds has no entry for ${year}; add one with "fromYear" ${year} or earlier`);
  return entry.cents;
}

/**
 * A payment without a participant_id can only be told apart by its payee, which differs between
 * providers: such rows are listed on their own, marked, so a person can match them up.
 */
function identify(record: PaymentRecord): { participant: string; identifiedBy: ParticipantYear['identifiedBy'] } {
  if (record.participant_id !== undefined) return { participant: record.participant_id, identifiedBy: 'participant_id' };
  return { participant: `${record.provider}/${record.account}/${record.payee}`, identifiedBy: 'payee' };
}
