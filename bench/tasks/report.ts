import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { stringify } from 'csv-stringify';
import { loadConfig } from '../../src/config/load.js';
import { openContext } from '../../src/context.js';
import { storedPaymentId } from '../../src/ledger/batch-rows.js';
import { writeReconciliation } from '../../src/reports/reconciliation.js';
import type { Task } from './task.js';

const PAGE = 1000;

/** The project: the batch's reconciliation report (reconciliation.csv and summary.json) from the ledger. */
export const report: Task = async (args, start) => {
  const context = await openContext(await loadConfig({ path: String(args.configFile) }));
  try {
    start();
    const { summary } = await writeReconciliation(context, String(args.batchId), String(args.out));
    return { items: summary.rows };
  } finally {
    await context.close();
  }
};

/**
 * The baseline: the same reads (the batch's row list a page at a time, each payment's hash in one
 * pipeline per page) written out by bare csv-stringify, with no logic between them.
 */
export const reportBaseline: Task = async (args, start) => {
  const context = await openContext(await loadConfig({ path: String(args.configFile) }));
  const { redis, keys } = context;
  const batchId = String(args.batchId);
  const dir = join(String(args.out), batchId);
  try {
    start();
    const { provider, account } = await context.batches.ownerOf(batchId);
    const batch = await redis.hgetall(keys.batch(provider, account, batchId));
    await mkdir(dir, { recursive: true });
    const stringifier = stringify({ header: true, columns: RECORD_FIELDS });
    const written = pipeline(stringifier, createWriteStream(join(dir, 'baseline.csv')));
    let items = 0;
    for (let at = 0; ; at += PAGE) {
      const page = await redis.lrange(keys.batchRows(provider, account, batchId), at, at + PAGE - 1);
      const read = redis.pipeline();
      for (const entry of page) read.hgetall(keys.payment(batch.provider!, batch.account!, batchId, storedPaymentId(entry)));
      for (const [, hash] of (await read.exec()) ?? []) {
        items += 1;
        if (!stringifier.write(hash)) await once(stringifier, 'drain');
      }
      if (page.length < PAGE) break;
    }
    stringifier.end();
    await written;
    return { items };
  } finally {
    await context.close();
  }
};

/** The payment record's fields a report row draws on (21, as the report has columns). */
const RECORD_FIELDS = [
  'batch_id', 'line', 'payment_id', 'provider', 'account', 'payee', 'amount_cents', 'status', 'reference', 'code', 'message',
  'attempts', 'submitted_at', 'settled_at', 'reversal_reference', 'reversal_code', 'reversal_message', 'reversal_reason',
  'reversal_by', 'reversal_settled_at', 'reversal_requested_at',
];
