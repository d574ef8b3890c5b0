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
