import { join } from 'node:path';
import type { Response } from 'express';
import { writeBatchReport } from '../batches/report.js';
import type { StipendContext } from '../context.js';
import { sendWrittenFile } from './download.js';

/** The files of a batch's report a person may download. */
export const DOWNLOADS = ['reconciliation.csv', 'summary.json'] as const;
export type Download = (typeof DOWNLOADS)[number];

/**
 * Sends one file of the batch's report, written from the ledger for this request with the code of
 * `stipend report` (so it is exactly what finance gets there, card numbers never in it). The copy is
 * not remembered as the batch's report folder: later changes keep rewriting the one people have.
 * `batchId` has been checked (ledger/batch-id.ts), so the file name needs no escaping.
 */
export function sendReportFile(context: StipendContext, batchId: string, file: Download, response: Response): Promise<void> {
  return sendWrittenFile(response, context.config.prefix, `${batchId}-${file}`, async (dir) => {
    const report = await writeBatchReport(context, batchId, dir, { remember: false });
    return join(report.dir, file);
  });
}
