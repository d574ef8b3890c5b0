import type { RowContext, RowResult } from '../harness.js';
import { validateRow } from './validate.js';

/** The table's rows, in the order. */
export const rows: ((context: RowContext) => Promise<RowResult>)[] = [validateRow];
