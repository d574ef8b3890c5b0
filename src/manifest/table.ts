import type { z } from 'zod';
import type { ManifestColumn } from '../providers/types.js';
import { DuplicateIndex } from './duplicate-index.js';
import { ManifestContentError } from './errors.js';
import { matchColumns } from './header.js';
import type { Problem } from './problems.js';
import { type CsvRecord, readCsvRecords } from './read-csv.js';
import { cardNumberProblems, issueProblems } from './validate-row.js';

/**
 * A manifest that is not a list of payments (CT Payer card assignments): the provider's columns,
 * a row schema, and the key that makes two rows the same request twice.
 */
export interface TableSpec<Row> {
  /** Names the manifests in messages: "card assignment manifests". */
  kind: string;
  columns: readonly ManifestColumn[];
  row: z.ZodType<Row>;
  /** The column whose value identifies a row: the same value twice is one request made twice. */
  keyColumn: keyof Row & string;
}

export interface TableRead<Row> {
  rows: { line: number; value: Row }[];
  /** Everything wrong, in file order; any problem rejects the whole file. */
  problems: Problem[];
}

async function* records(path: string): AsyncGenerator<CsvRecord> {
  for await (const batch of readCsvRecords(path)) yield* batch;
}

// These files are read whole: far more rows than any sponsor assigns cards to at once.
const MAX_ROWS = 50_000;

/**
 * Reads and validates a whole table manifest with the payment manifests' rules: strict UTF-8 CSV,
 * known columns only, every cell against the provider's field schema, no card numbers, no request
 * twice. Problems carry the line and column; a file that cannot be read throws ManifestFileError.
 */
export async function readTable<Row>(path: string, spec: TableSpec<Row>): Promise<TableRead<Row>> {
  const rows: TableRead<Row>['rows'] = [];
  const problems: Problem[] = [];
  const seen = new DuplicateIndex();
  let names: string[] | undefined;
  let width = 0;
  let headerLine = 1;
  try {
    for await (const record of records(path)) {
      const { line, cells } = record;
      if (names === undefined) {
        const header = matchColumns(record, spec.columns.map((c) => c.name), spec.columns.filter((c) => c.required).map((c) => c.name), spec.kind);
        if (header.problems.length > 0) return { rows: [], problems: header.problems };
        ({ names } = header);
        width = cells.length;
        headerLine = line;
        continue;
      }
      if (rows.length + problems.length >= MAX_ROWS) {
        problems.push({ line, message: `the file has more than ${MAX_ROWS.toLocaleString('en-US')} rows; split it` });
        break;
      }
      const cardNumbers = cardNumberProblems(record, names);
      if (cardNumbers.length > 0) {
        // Nothing else is read from the row: any of it might quote the number.
        problems.push(...cardNumbers);
        continue;
      }
      if (cells.length !== width) {
        problems.push({ line, message: `has ${cells.length} cells but the header has ${width} columns; every row needs one value (or an empty cell) per column` });
        continue;
      }
      const parsed = spec.row.safeParse(Object.fromEntries(names.map((name, index) => [name, cells[index]!.trim() || undefined])));
      if (!parsed.success) {
        problems.push(...issueProblems(line, parsed.error.issues));
        continue;
      }
      const key = String(parsed.data[spec.keyColumn]);
      const first = seen.firstLine(key, line);
      if (first !== undefined) problems.push({ line, column: spec.keyColumn, message: `${key} already appears on line ${first}` });
      else rows.push({ line, value: parsed.data });
    }
  } catch (error) {
    if (!(error instanceof ManifestContentError)) throw error;
    problems.push(...error.problems);
  }
  if (names === undefined && problems.length === 0) problems.push({ line: 1, message: 'no header row: the file is empty' });
  else if (rows.length === 0 && problems.length === 0) problems.push({ line: headerLine, message: 'no data rows: the file has a header but nothing under it' });
  return { rows, problems };
}
