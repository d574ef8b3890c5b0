/**
 * Physical lines as an editor numbers them: a line ends at CRLF, LF or a lone CR, the same record
 * delimiters the CSV reader accepts, so reported line numbers match what the user sees.
 */
export function countLineBreaks(text: string): number {
  // indexOf, not a global regular expression: this sees every byte of a manifest, and a match
  // array of a million line breaks is garbage to collect.
  let breaks = 0;
  for (let at = text.indexOf('\n'); at !== -1; at = text.indexOf('\n', at + 1)) breaks += 1;
  for (let at = text.indexOf('\r'); at !== -1; at = text.indexOf('\r', at + 1)) if (text.charCodeAt(at + 1) !== 10) breaks += 1;
  return breaks;
}

/** Counts lines across streamed pieces of text, where a CRLF may be split between two pieces. */
export class LineCounter {
  private breaks = 0;
  private endsWithCr = false;

  add(text: string): void {
    if (text === '') return;
    this.breaks += countLineBreaks(text) - (this.endsWithCr && text.startsWith('\n') ? 1 : 0);
    this.endsWithCr = text.endsWith('\r');
  }

  /** The line the next character belongs to. */
  get line(): number {
    return this.breaks + 1;
  }
}
