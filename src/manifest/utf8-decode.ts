import { ManifestContentError } from './errors.js';
import { LineCounter } from './line-breaks.js';

const SAVE_AS_UTF8 = 'save it as UTF-8 (in Excel: "CSV UTF-8 (Comma delimited)")';

/**
 * Decodes the file's bytes as strict UTF-8, chunk by chunk, and drops a UTF-8 byte order mark.
 * A manifest in another encoding (Windows-1252 "é", UTF-16) is refused rather than decoded into
 * replacement characters that would be sent to a provider.
 */
export async function* decodeUtf8(bytes: AsyncIterable<Buffer>): AsyncGenerator<string> {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  const lines = new LineCounter();
  let previous: Buffer | undefined;
  for await (const chunk of bytes) {
    if (previous === undefined && isUtf16(chunk)) {
      throw new ManifestContentError([{ line: 1, message: `the file is UTF-16 encoded; ${SAVE_AS_UTF8}` }]);
    }
    let text: string;
    try {
      text = decoder.decode(chunk, { stream: true });
    } catch {
      // Line breaks are single ASCII bytes in UTF-8, so the bytes before the bad one count lines.
      lines.add(chunk.toString('latin1', 0, firstInvalidByte(previous, chunk)));
      throw notUtf8(lines.line);
    }
    lines.add(text);
    previous = chunk;
    if (text !== '') yield text;
  }
  let rest: string;
  try {
    rest = decoder.decode();
  } catch {
    throw notUtf8(lines.line);
  }
  if (rest !== '') yield rest;
}

function isUtf16(chunk: Buffer): boolean {
  return chunk.length >= 2 && ((chunk[0] === 0xff && chunk[1] === 0xfe) || (chunk[0] === 0xfe && chunk[1] === 0xff));
}

function notUtf8(line: number): ManifestContentError {
  return new ManifestContentError([{ line, message: `the file is not valid UTF-8 (it may have been saved as Windows-1252 or Latin-1); ${SAVE_AS_UTF8}` }]);
}

/**
 * The offset in `chunk` of the byte that breaks UTF-8. The decoder says only that the chunk is bad,
 * so this replays it a byte at a time after the unfinished character the previous chunk may have
 * ended with; it runs once per bad file, on one chunk.
 */
function firstInvalidByte(previous: Buffer | undefined, chunk: Buffer): number {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  decoder.decode(unfinishedCharacter(previous), { stream: true });
  for (let i = 0; i < chunk.length; i += 1) {
    try {
      decoder.decode(chunk.subarray(i, i + 1), { stream: true });
    } catch {
      return i;
    }
  }
  return chunk.length;
}

/** The last bytes of a chunk from the start of its last character (at most 3 continue into the next). */
function unfinishedCharacter(previous: Buffer | undefined): Buffer {
  if (previous === undefined) return Buffer.alloc(0);
  let start = Math.max(0, previous.length - 3);
  // Skip continuation bytes (10xxxxxx) whose lead byte lies further back: that character is complete.
  while (start < previous.length && (previous[start]! & 0xc0) === 0x80) start += 1;
  return previous.subarray(start);
}
