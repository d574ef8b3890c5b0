import { rm } from 'node:fs/promises';
import { waitForBatch } from '../../src/batches/wait.js';
import { loadConfig } from '../../src/config/load.js';
import { openContext } from '../../src/context.js';
import { manifestRows } from '../../src/manifest/index.js';
import { ctpayer } from '../../src/providers/ctpayer.js';
import { deleteKeys } from '../../src/queue/cleanup.js';
import { startSandbox } from '../../src/sandbox/index.js';
import { windowCounts } from '../rate-windows.js';
import { collect, enqueueBatch, newPrefix, writeBenchConfig } from '../stack.js';
import { spawnWorker } from '../worker-processes.js';
import type { Task } from './task.js';

/**
 * The project: one account limited to `max` requests per `perMs`, paid by `workers` `stipend worker`
 * processes, against a sandbox enforcing the same sliding window. The batch is queued before the
 * workers start; the clock runs from their start until it is settled. What counts is what reached
 * the sandbox: the arrival times it logged.
 */
export const rateFidelity: Task = async (args, start) => {
  const limit = { max: Number(args.max), perMs: Number(args.perMs) };
  const sandbox = await startSandbox('ctpayer', { port: 0, rateLimit: limit });
  const prefix = newPrefix();
  const configFile = await writeBenchConfig(String(args.dir), {
    prefix,
    redisUrl: String(args.redisUrl),
    baseUrl: sandbox.url,
    account: { rateLimit: limit, concurrency: 5 },
  });
  const config = await loadConfig({ path: configFile });
  const context = await openContext(config);
  try {
    const rows = await collect(manifestRows(String(args.file), ctpayer as never));
    const batchId = await enqueueBatch(context, config.accounts[0]!, rows);
    start();
    const workers = await Promise.all(Array.from({ length: Number(args.workers) }, () => spawnWorker(configFile)));
    const batch = await waitForBatch(context, batchId, { pollMs: 100 });
    await Promise.all(workers.map((w) => w.stop()));
    if (batch.n_paid !== rows.length) throw new Error(`${rows.length} payments, ${batch.n_paid} paid: ${JSON.stringify(batch)}`);

    const requests = sandbox.requests().filter((r) => r.account !== undefined);
    const counts = windowCounts(requests.map((r) => r.at), limit);
    return { items: requests.length, extra: { ...counts, refused: requests.filter((r) => r.status === 429).length } };
  } finally {
    await deleteKeys(context.redis, prefix);
    await context.close();
    await sandbox.close();
    await rm(configFile);
  }
};
