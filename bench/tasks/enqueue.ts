import { Queue } from 'bullmq';
import { loadConfig } from '../../src/config/load.js';
import { openContext } from '../../src/context.js';
import { newBatchId } from '../../src/ledger/batches.js';
import { manifestRows } from '../../src/manifest/index.js';
import { ctpayer } from '../../src/providers/ctpayer.js';
import { bullPrefix, paymentJob, queueName } from '../../src/queue/payment-job.js';
import { collect, enqueueBatch } from '../stack.js';
import type { Task } from './task.js';

// The baseline adds its jobs in the project's chunk size: a bare program must keep memory flat too.
const CHUNK = 500;

async function open(args: Record<string, unknown>) {
  const config = await loadConfig({ path: String(args.configFile) });
  const context = await openContext(config);
  const account = config.accounts[0]!;
  // The rows are validated before the clock starts: row 1 measures validation.
  const rows = await collect(manifestRows(String(args.file), ctpayer as never));
  return { config, context, account, rows };
}

/** The project: a batch record, each payment claimed in the ledger, its job queued, its row recorded. */
export const enqueue: Task = async (args, start) => {
  const { context, account, rows } = await open(args);
  try {
    start();
    const batchId = await enqueueBatch(context, account, rows);
    const batch = await context.batches.get(batchId);
    if (batch.accepted !== rows.length) throw new Error(`expected ${rows.length} accepted payments, got ${batch.accepted}`);
    return { items: rows.length };
  } finally {
    await context.close();
  }
};

/** The baseline: bare BullMQ addBulk of the same jobs (same data, same options), nothing else. */
export const bullmqAddBulk: Task = async (args, start) => {
  const { config, context, account, rows } = await open(args);
  const queue = new Queue(queueName(account), { connection: context.redis, prefix: bullPrefix(config.prefix, account) });
  try {
    start();
    const batchId = newBatchId();
    for (let i = 0; i < rows.length; i += CHUNK) {
      const payments = rows.slice(i, i + CHUNK).flatMap((row) => (row.ok ? [row.payment] : []));
      // JSON leaves out the undefined fields, as the project's jobs do: the same bytes per job.
      await queue.addBulk(payments.map((p) => paymentJob(account, { batchId, paymentId: p.paymentId, amountCents: p.amountCents, fields: p.fields as Record<string, string> })));
    }
    return { items: rows.length };
  } finally {
    await queue.close();
    await context.close();
  }
};
