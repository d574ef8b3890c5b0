import { createHash } from 'node:crypto';
import type { ProviderId } from '../providers/types.js';
import { quoted } from './problems.js';

// CT Payer's internalPaymentId (docs/providers.md, "CT Payer"): letters, digits, - and _, at most 40 characters.
const PAYMENT_ID = /^[A-Za-z0-9_-]{1,40}$/;

/** Why a manifest's payment_id cannot be used, or undefined when it can. */
export function paymentIdProblem(id: string): string | undefined {
  if (PAYMENT_ID.test(id)) return undefined;
  const length = [...id].length;
  return length > 40
    ? `must be at most 40 characters (has ${length})`
    : `${quoted(id)} may contain only letters, digits, - and _ (at most 40 characters)`;
}

/**
 * The id of a row without payment_id, from what the row pays: the same provider, fields and amount
 * give the same id in any file, so paying a manifest twice is caught as a duplicate payment.
 */
export function derivePaymentId(provider: ProviderId, fields: Record<string, string | undefined>, amountCents: number): string {
  // Absent optional fields are left out, so a file with an empty optional column and a file
  // without that column describe the same payment.
  const present = Object.keys(fields)
    .filter((key) => fields[key] !== undefined)
    .sort()
    .map((key) => [key, fields[key]]);
  const canonical = JSON.stringify([provider, present, amountCents]);
  return `r-${createHash('sha256').update(canonical).digest('hex').slice(0, 30)}`;
}
