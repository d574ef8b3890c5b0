import { createReadStream } from 'node:fs';
import { pipeline } from 'node:stream';
import { CsvError, parse } from 'csv-parse';
import { ManifestContentError, asFileError } from './errors.js';
import { countLineBreaks } from './line-breaks.js';
import type { Problem } from './problems.js';
import { checkUtf8 } from './utf8-check.js';

/** One CSV record and the physical line it starts on (1 = the first line of the file). */
export interface CsvRecord {
  line: number;
  cells: string[];
}

// Far above any real manifest row (a few hundred bytes); a record growing past it is a runaway
// quoted value or a pasted blob, reported instead of held in memory.
const MAX_RECORD_BYTES = 10_000;
// Records handed over at a time: one await per batch instead of one per row, which at a million
// rows is most of what reading costs beyond parsing itself.
const BATCH = 500;

/**
 * Streams the file's CSV records in order, in batches (`onBytes` sees each piece of the file as it is read), skipping blank ones (empty lines, Excel's
 * `,,,`). Throws ManifestContentError for a file that is not UTF-8 or not CSV (after the batch of
 * records before the problem), ManifestFileError for one that cannot be read.
 */
export async function* readCsvRecords(path: string, onBytes?: (bytes: Buffer) => void): AsyncGenerator<CsvRecord[]> {
  const parser = parse({ bom: true, relax_column_count: true, max_record_size: MAX_RECORD_BYTES, record_delimiter: ['\r\n', '\n', '\r'] });
  // Where the next record starts. Every record, blank ones too, ends at one line break, and a
  // quoted value adds its own, so counting those gives each record's first line without asking
  // the parser for raw text. On a syntax error it is the start of the record being parsed.
  let nextLine = 1;
  let batch: CsvRecord[] = [];
  let ended = false;
  let failure: unknown;
  let wake: (() => void) | undefined;
  const notify = () => {
    const resolve = wake;
    wake = undefined;
    resolve?.();
  };
  parser.on('data', (cells: string[]) => {
    const line = nextLine;
    nextLine += 1;
    for (const cell of cells) if (cell.length > 0 && (cell.includes('\n') || cell.includes('\r'))) nextLine += countLineBreaks(cell);
    if (!cells.every((cell) => cell.trim() === '')) batch.push({ line, cells });
    if (batch.length >= BATCH) {
      parser.pause();
      notify();
    }
  });
  parser.once('end', () => {
    ended = true;
    notify();
  });
  // pipeline() destroys the parser with any stream's error (a file that cannot be read, bad UTF-8).
  parser.once('error', (error) => {
    failure = error;
    notify();
  });
  const bytes = createReadStream(path);
  if (onBytes) pipeline(bytes, tap(onBytes), checkUtf8(path), parser, () => {});
  else pipeline(bytes, checkUtf8(path), parser, () => {});
  try {
    for (;;) {
      if (batch.length > 0) {
        const ready = batch;
        batch = [];
        yield ready;
        if (failure === undefined && !ended) parser.resume();
        continue;
      }
      if (failure !== undefined) throw failure;
      if (ended) return;
      await new Promise<void>((resolve) => (wake = resolve));
    }
  } catch (error) {
    if (error instanceof CsvError) throw new ManifestContentError([syntaxProblem(error, nextLine)]);
    throw asFileError(path, error);
  } finally {
    // A reader that stops early (the first problem was enough) releases the file.
    if (!ended) parser.destroy();
  }
}

/** Passes the file's pieces on unchanged, showing each to `see` first. */
function tap(see: (bytes: Buffer) => void) {
  return async function* (source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
    for await (const bytes of source) {
      see(bytes);
      yield bytes;
    }
  };
}

function syntaxProblem(error: CsvError, line: number): Problem {
  switch (error.code) {
    case 'CSV_QUOTE_NOT_CLOSED':
      return { line, message: 'a quoted value is never closed: a " opens a value that runs to the end of the file' };
    case 'INVALID_OPENING_QUOTE':
      return { line, message: 'a " appears inside a value that does not start with one; quote the whole value and double the " inside it ("")' };
    case 'CSV_INVALID_CLOSING_QUOTE':
    case 'CSV_NON_TRIMABLE_CHAR_AFTER_CLOSING_QUOTE':
      return { line, message: 'text follows the closing " of a quoted value; a quoted value must end at a comma or the end of the line' };
    case 'CSV_MAX_RECORD_SIZE':
      return { line, message: `this row is longer than ${MAX_RECORD_BYTES.toLocaleString('en-US')} bytes (an oversize cell or a quote that is never closed)` };
    default:
      return { line, message: `the file cannot be read as CSV (${error.code})` };
  }
}
