/**
 * A cell holding a full payment card number (PAN). Manifests identify cards by the provider's card
 * or customer id; a PAN in one is a data-protection incident, so it rejects the whole manifest and
 * its digits are never repeated in any message or report.
 */
const PAN = /^\d{13,19}$/;

export function looksLikeCardNumber(cell: string): boolean {
  // Every cell of every row passes here: most are far too short, or hold a letter early on.
  if (cell.length < 13 || !mayBeGroupedDigits(cell)) return false;
  // People write card numbers in groups: "4111 1111 1111 1111", "4111-1111-1111-1111".
  const digits = cell.replace(/[\s-]/g, '');
  return PAN.test(digits) && passesLuhn(digits);
}

/** Only digits, whitespace and dashes, without building a string. */
function mayBeGroupedDigits(cell: string): boolean {
  for (let i = 0; i < cell.length; i += 1) {
    const c = cell.charCodeAt(i);
    if (!((c >= 48 && c <= 57) || c === 45 || c === 32 || (c >= 9 && c <= 13) || c === 160 || c > 0x1fff)) return false;
  }
  return true;
}

export const CARD_NUMBER_MESSAGE = 'looks like a full card number; card numbers never belong in a manifest';

/** The check digit every card number carries (ISO/IEC 7812). */
function passesLuhn(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i += 1) {
    let digit = Number(digits[digits.length - 1 - i]);
    if (i % 2 === 1) {
      digit *= 2;
      if (digit > 9) digit -= 9;
    }
    sum += digit;
  }
  return sum % 10 === 0;
}
