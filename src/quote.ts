const SHOWN_CHARACTERS = 20;

/**
 * A value quoted inside a message: at most 20 characters (a message points at the value, it does
 * not reproduce it) and escaped, so a line break or control character in a cell cannot break the
 * one-problem-per-line output.
 */
export function quoted(value: string): string {
  const chars = [...value];
  const shown = chars.length > SHOWN_CHARACTERS ? `${chars.slice(0, SHOWN_CHARACTERS).join('')}…` : value;
  return JSON.stringify(shown);
}
