import { isUtf8 } from 'node:buffer';
import { createReadStream } from 'node:fs';
import { ManifestContentError } from './errors.js';
import { countLineBreaks } from './line-breaks.js';

const SAVE_AS_UTF8 = 'save it as UTF-8 (in Excel: "CSV UTF-8 (Comma delimited)")';

/**
 * Passes the file's bytes on unchanged once they are known to be strict UTF-8. A manifest in
 * another encoding (Windows-1252 "é", UTF-16) is refused rather than decoded into replacement
 * characters that would be sent to a provider. The bytes are checked, not decoded: the CSV parser
 * decodes them once, and a whole decode here would double that work. The UTF-8 byte order mark is
 * left to the parser (its `bom` option).
 */
export function checkUtf8(path: string) {
  return async function* (bytes: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
    // The start of a character that the previous piece ended in the middle of (at most 3 bytes).
    let unfinished = Buffer.alloc(0);
    // Where in the file `unfinished` starts.
    let offset = 0;
    let first = true;
    for await (const chunk of bytes) {
      if (first && isUtf16(chunk)) throw new ManifestContentError([{ line: 1, message: `the file is UTF-16 encoded; ${SAVE_AS_UTF8}` }]);
      first = false;
      const piece = unfinished.length === 0 ? chunk : Buffer.concat([unfinished, chunk]);
      const complete = completeCharacters(piece);
      if (!isUtf8(piece.subarray(0, complete))) throw await notUtf8(path, offset + firstInvalidByte(piece));
      unfinished = Buffer.from(piece.subarray(complete));
      offset += complete;
      yield chunk;
    }
    if (unfinished.length > 0) throw await notUtf8(path, offset);
  };
}

function isUtf16(chunk: Buffer): boolean {
  return chunk.length >= 2 && ((chunk[0] === 0xff && chunk[1] === 0xfe) || (chunk[0] === 0xfe && chunk[1] === 0xff));
}

/** How many bytes of `piece` are whole characters: all but a lead byte and its continuations at the end. */
function completeCharacters(piece: Buffer): number {
  for (let back = 1; back <= Math.min(3, piece.length); back += 1) {
    const byte = piece[piece.length - back]!;
    if ((byte & 0xc0) === 0x80) continue; // a continuation byte: its lead is further back
    const needs = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : byte >= 0xc0 ? 2 : 1;
    return needs > back ? piece.length - back : piece.length;
  }
  return piece.length;
}

/** The offset of the byte that breaks UTF-8; runs once per bad file, on one piece. */
function firstInvalidByte(piece: Buffer): number {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  for (let i = 0; i < piece.length; i += 1) {
    try {
      decoder.decode(piece.subarray(i, i + 1), { stream: true });
    } catch {
      return i;
    }
  }
  return piece.length;
}

/**
 * The problem names the line of the bad byte, counted by reading the file up to it again: line
 * breaks are single ASCII bytes in UTF-8, so the bytes before it count lines whatever they hold.
 */
async function notUtf8(path: string, badByte: number): Promise<ManifestContentError> {
  let breaks = 0;
  let endsWithCr = false;
  if (badByte > 0) {
    for await (const chunk of createReadStream(path, { end: badByte - 1 }) as AsyncIterable<Buffer>) {
      const text = chunk.toString('latin1');
      breaks += countLineBreaks(text) - (endsWithCr && text.startsWith('\n') ? 1 : 0);
      endsWithCr = text.endsWith('\r');
    }
  }
  return new ManifestContentError([{ line: breaks + 1, message: `the file is not valid UTF-8 (it may have been saved as Windows-1252 or Latin-1); ${SAVE_AS_UTF8}` }]);
}
