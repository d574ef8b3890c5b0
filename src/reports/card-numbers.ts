import { looksLikeCardNumber } from '../manifest/luhn.js';

/**
 * What a report or a command line shows instead of a card number found in a problem's text.
 * Problems may quote a cell (up to 20 characters, quote.ts); a cell that is a card number on its own
 * rejects the whole manifest unquoted, but one with something around it does not (an amount of
 * "$4111 1111 1111 1111" is an amount with a currency symbol), so its digits could reach a report.
 */
export const CARD_NUMBER_SHOWN_AS = '[card number removed]';

// A run of at least 13 digits, perhaps grouped by single spaces or dashes as people write them.
const DIGIT_RUN = /\d(?:[ -]?\d){12,}/g;

/** `text` with every run of digits that passes for a card number (luhn.ts) replaced. */
export function withoutCardNumbers(text: string): string {
  return text.replace(DIGIT_RUN, (run) => (looksLikeCardNumber(run) ? CARD_NUMBER_SHOWN_AS : run));
}
