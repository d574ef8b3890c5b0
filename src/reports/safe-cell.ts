/**
 * A report cell that a spreadsheet would run as a formula (=, +, -, @, tab, carriage return first)
 * gets a leading apostrophe, which spreadsheets show as plain text. Applied to every text cell of
 * every CSV this program writes; numbers are written as numbers and need no such care.
 */
const FORMULA_TRIGGER = /^[=+\-@\t\r]/;
// A plain negative amount ("-12.50", money given back) is a number to a spreadsheet, not a formula.
const NEGATIVE_AMOUNT = /^-\d+(\.\d+)?$/;

export function safeCell(value: string): string {
  return FORMULA_TRIGGER.test(value) && !NEGATIVE_AMOUNT.test(value) ? `'${value}` : value;
}
