import { createReadStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Response } from 'express';
import { writeBatchReport } from '../batches/report.js';
import type { StipendContext } from '../context.js';

/** The files of a batch's report a person may download, and their types. */
export const DOWNLOADS = { 'reconciliation.csv': 'text/csv; charset=utf-8', 'summary.json': 'application/json; charset=utf-8' } as const;
export type Download = keyof typeof DOWNLOADS;

/**
 * Sends one file of the batch's report, written from the ledger for this request with the code of
 * `stipend report` (so it is exactly what finance gets there, card numbers never in it) into a
 * folder private to this process (mkdtemp: mode 0700), removed once sent. The copy is not
 * remembered as the batch's report folder: later changes keep rewriting the one people have.
 * `batchId` has been checked (ledger/batch-id.ts), so the file name needs no escaping.
 */
export async function sendReportFile(context: StipendContext, batchId: string, file: Download, response: Response): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'stipend-console-report-'));
  try {
    const report = await writeBatchReport(context, batchId, dir, { remember: false });
    response.attachment(`${batchId}-${file}`).type(DOWNLOADS[file]);
    await pipeline(createReadStream(join(report.dir, file)), response).catch((error: unknown) => {
      // The browser went away mid-download: there is no one left to tell.
      if (!response.headersSent) throw error;
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
