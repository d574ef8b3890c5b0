import type { RowContext, RowResult } from '../harness.js';
import { accountsRow } from './accounts-across-shards.js';
import { archiveFootprintRow } from './archive-footprint.js';
import { enqueueRow } from './enqueue.js';
import { executeRow } from './execute.js';
import { rateFidelityRow } from './rate-fidelity.js';
import { realisticRow } from './realistic.js';
import { redisFootprintRow } from './redis-footprint.js';
import { reportRow } from './report.js';
import { validateRow } from './validate.js';

/** The table's rows, in the order. */
export const rows: ((context: RowContext) => Promise<RowResult>)[] = [validateRow, enqueueRow, executeRow, realisticRow, rateFidelityRow, reportRow, redisFootprintRow, accountsRow, archiveFootprintRow];
