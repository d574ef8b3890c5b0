import { maskCardNumbers } from './card-numbers.js';

const SHOWN_CHARACTERS = 20;

/**
 * A value quoted inside a message: at most 20 characters (a message points at the value, it does
 * not reproduce it) and escaped, so a line break or control character in a cell cannot break the
 * one-problem-per-line output. A card number in it shows as its last four digits, masked before it
 * is cut, so a cut cannot leave most of one unrecognised; messages reach the ledger, errors.csv and
 * reports.
 */
export function quoted(value: string): string {
  const chars = [...maskCardNumbers(value)];
  const shown = chars.length > SHOWN_CHARACTERS ? `${chars.slice(0, SHOWN_CHARACTERS).join('')}…` : chars.join('');
  return JSON.stringify(shown);
}
