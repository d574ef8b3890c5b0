import type { AnyAdapter } from '../providers/index.js';
import { ManifestContentError } from './errors.js';
import { type ManifestLayout, readHeader } from './header.js';
import { readCsvRecords } from './read-csv.js';
import { type CheckedRow, checkRow, type ManifestRow } from './validate-row.js';

/**
 * Every data row of the manifest, checked, in file order, a batch at a time; `onBytes` sees the
 * file's bytes as they are read. Throws
 * ManifestContentError when the file itself is unusable: not UTF-8, not CSV, a bad header, no
 * header or no data rows.
 */
export async function* checkRows(path: string, adapter: AnyAdapter, onBytes?: (bytes: Buffer) => void): AsyncGenerator<CheckedRow[]> {
  let layout: ManifestLayout | undefined;
  let headerLine = 1;
  let dataRows = 0;
  for await (const records of readCsvRecords(path, onBytes)) {
    let first = 0;
    if (layout === undefined) {
      const header = readHeader(records[0]!, adapter);
      if (!header.ok) throw new ManifestContentError(header.problems);
      layout = header.layout;
      headerLine = records[0]!.line;
      first = 1;
    }
    const checked: CheckedRow[] = [];
    for (let i = first; i < records.length; i += 1) checked.push(checkRow(records[i]!, layout, adapter));
    dataRows += checked.length;
    if (checked.length > 0) yield checked;
  }
  if (layout === undefined) throw new ManifestContentError([{ line: 1, message: 'no header row: the file is empty' }]);
  if (dataRows === 0) throw new ManifestContentError([{ line: headerLine, message: 'no data rows: the file has a header but no payments under it' }]);
}

/**
 * Pass 2, over a manifest whose scan found no file problem: every data row in order, valid and
 * rejected, with the same per-row validation as the scan.
 */
export async function* manifestRows(path: string, adapter: AnyAdapter): AsyncGenerator<ManifestRow> {
  for await (const checked of checkRows(path, adapter)) for (const { row } of checked) yield row;
}
