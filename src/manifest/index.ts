/** Reading and validating CSV payment manifests: a scan that reports, then a pass that yields rows. */
export { ManifestContentError, ManifestFileError } from './errors.js';
export { formatProblem, type Problem } from './problems.js';
export { manifestRows } from './rows.js';
export { sha256File } from './sha256-file.js';
export { type ManifestScan, scanManifest } from './scan.js';
export type { ManifestRow, ValidatedPayment } from './validate-row.js';
export { readTable, type TableRead, type TableSpec } from './table.js';
