import { createReadStream } from 'node:fs';
import { pipeline } from 'node:stream';
import { CsvError, type Options, parse } from 'csv-parse';
import { ManifestContentError, asFileError } from './errors.js';
import { countLineBreaks } from './line-breaks.js';
import type { Problem } from './problems.js';
import { decodeUtf8 } from './utf8-decode.js';

/** One CSV record and the physical line it starts on (1 = the first line of the file). */
export interface CsvRecord {
  line: number;
  cells: string[];
}

// Far above any real manifest row (a few hundred bytes); a record growing past it is a runaway
// quoted value or a pasted blob, reported instead of held in memory.
const MAX_RECORD_BYTES = 10_000;

/**
 * Streams the file's CSV records in order, skipping blank ones (empty lines, Excel's `,,,`).
 * Throws ManifestContentError for a file that is not UTF-8 or not CSV, ManifestFileError for one
 * that cannot be read.
 */
export async function* readCsvRecords(path: string): AsyncGenerator<CsvRecord> {
  // Where the next record starts. on_record runs as the parser completes each record, ahead of
  // this consumer, so on a syntax error it is the start of the record being parsed.
  let nextLine = 1;
  // The raw text holds the record and its line break (of CRLF only the CR: enough to count it).
  const numberRecord = ({ record, raw }: { record: string[]; raw: string }): CsvRecord => {
    const line = nextLine;
    nextLine += countLineBreaks(raw);
    return { line, cells: record };
  };
  const parser = parse({
    raw: true,
    relax_column_count: true,
    max_record_size: MAX_RECORD_BYTES,
    record_delimiter: ['\r\n', '\n', '\r'],
    // csv-parse's types assume on_record receives string[]; with raw: true it receives {record, raw}.
    on_record: numberRecord as unknown as Options['on_record'],
  });
  // The pipeline's callback sees errors the parser also throws to the loop below; nothing to add.
  pipeline(createReadStream(path), decodeUtf8, parser, () => {});
  try {
    for await (const record of parser as AsyncIterable<CsvRecord>) {
      if (record.cells.every((cell) => cell.trim() === '')) continue;
      yield record;
    }
  } catch (error) {
    if (error instanceof CsvError) throw new ManifestContentError([syntaxProblem(error, nextLine)]);
    throw asFileError(path, error);
  }
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
