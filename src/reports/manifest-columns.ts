import { PROVIDER_FIELD } from '../ledger/claims.js';
import { maskCardNumbers } from '../card-numbers.js';
import type { ClientPayFields } from '../providers/clientpay.js';
import type { CtPayerFields } from '../providers/ctpayer.js';
import { getAdapter } from '../providers/index.js';
import type { OntraportFields } from '../providers/ontraport.js';
import type { PtApiFields } from '../providers/ptapi.js';
import type { ProviderId } from '../providers/types.js';
import type { VirtualRxFields } from '../providers/virtualrx.js';

/**
 * The manifest's own values that let finance recognise a report row without opening the manifest:
 * the same columns for every provider, empty where a provider has no such field. Only these are
 * shown, never the other provider fields (a payee's ids are in `payee` already).
 */
export const MANIFEST_COLUMNS = ['description', 'group_id', 'participant_id', 'reimbursement'] as const;

interface FieldsOf {
  ctpayer: CtPayerFields;
  ptapi: PtApiFields;
  ontraport: OntraportFields;
  clientpay: ClientPayFields;
  virtualrx: VirtualRxFields;
}

// Each provider's free-text field about the payment, checked against its adapter's field schema so
// that a renamed field fails to compile instead of leaving the column empty.
const DESCRIPTION_FIELD = {
  ctpayer: 'description',
  ptapi: 'description',
  ontraport: 'description',
  clientpay: 'description',
  virtualrx: 'ReasonDescription',
} as const satisfies { [P in ProviderId]: keyof FieldsOf[P] };

/**
 * The payment record's hash fields these columns are made from, read by name (HMGET) rather than
 * the whole record: each provider's description and group field (a provider field `x` is kept as
 * `f.x`, ledger/claims.ts), and `fields`, where records written before that kept them all as JSON.
 */
export const MANIFEST_RECORD_FIELDS = [
  'f.description', 'f.ReasonDescription', 'f.groupId', 'f.ClientGroupID', 'fields', 'participant_id', 'reimbursement',
] as const;

/** What a payment record holds of the manifest row, as read from the ledger (null: not there). */
export type ManifestValues = Record<(typeof MANIFEST_RECORD_FIELDS)[number], string | null>;

/**
 * The MANIFEST_COLUMNS cells of one provider's rows. The group is the adapter's own (CT Payer
 * groupId, VirtualRx ClientGroupID), as the finance export groups by it.
 */
export function manifestCells(provider: string): (values: ManifestValues | undefined) => string[] {
  const adapter = getAdapter(provider);
  const description = DESCRIPTION_FIELD[adapter.id];
  return (values) => {
    if (!values) return MANIFEST_COLUMNS.map(() => '');
    const fields = values.fields === null ? providerFields(values) : (JSON.parse(values.fields) as Record<string, string | undefined>);
    // Payments recorded before a card number inside a cell's text rejected the manifest may hold one.
    return [
      maskCardNumbers(fields[description] ?? ''),
      maskCardNumbers(adapter.manifest.group?.(fields) ?? ''),
      maskCardNumbers(values.participant_id ?? ''),
      // The ledger keeps only the marked ones ('1'); the manifest's own words for the rest.
      values.reimbursement === '1' ? 'yes' : 'no',
    ];
  };
}

/** The provider fields among the values read, by their provider's names. */
function providerFields(values: ManifestValues): Record<string, string | undefined> {
  const fields: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(values)) {
    if (name.startsWith(PROVIDER_FIELD) && value !== null) fields[name.slice(PROVIDER_FIELD.length)] = value;
  }
  return fields;
}
