import type { AnyAdapter } from '../providers/index.js';
import { ManifestContentError } from './errors.js';
import { type ManifestLayout, readHeader } from './header.js';
import { readCsvRecords } from './read-csv.js';
import { type CheckedRow, checkRow, type ManifestRow } from './validate-row.js';

/**
 * Every data row of the manifest, checked, in file order. Throws ManifestContentError when the file
 * itself is unusable: not UTF-8, not CSV, a bad header, no header or no data rows.
 */
export async function* checkRows(path: string, adapter: AnyAdapter): AsyncGenerator<CheckedRow> {
  let layout: ManifestLayout | undefined;
  let headerLine = 1;
  let dataRows = 0;
  for await (const record of readCsvRecords(path)) {
    if (layout === undefined) {
      const header = readHeader(record, adapter);
      if (!header.ok) throw new ManifestContentError(header.problems);
      layout = header.layout;
      headerLine = record.line;
      continue;
    }
    dataRows += 1;
    yield checkRow(record, layout, adapter);
  }
  if (layout === undefined) throw new ManifestContentError([{ line: 1, message: 'no header row: the file is empty' }]);
  if (dataRows === 0) throw new ManifestContentError([{ line: headerLine, message: 'no data rows: the file has a header but no payments under it' }]);
}

/**
 * Pass 2, over a manifest whose scan found no file problem: every data row in order, valid and
 * rejected, with the same per-row validation as the scan.
 */
export async function* manifestRows(path: string, adapter: AnyAdapter): AsyncGenerator<ManifestRow> {
  for await (const { row } of checkRows(path, adapter)) yield row;
}
