/**
 * A report cell that a spreadsheet would run as a formula (=, +, -, @, tab, carriage return first)
 * gets a leading apostrophe, which spreadsheets show as plain text. Applied to every text cell of
 * every CSV this program writes; numbers are written as numbers and need no such care.
 */
const FORMULA_TRIGGER = /^[=+\-@\t\r]/;

export function safeCell(value: string): string {
  return FORMULA_TRIGGER.test(value) ? `'${value}` : value;
}
