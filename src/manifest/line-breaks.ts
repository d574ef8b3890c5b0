/**
 * Physical lines as an editor numbers them: a line ends at CRLF, LF or a lone CR, the same record
 * delimiters the CSV reader accepts, so reported line numbers match what the user sees.
 */
const LINE_BREAK = /\r\n|\r|\n/g;

export function countLineBreaks(text: string): number {
  return text.match(LINE_BREAK)?.length ?? 0;
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
