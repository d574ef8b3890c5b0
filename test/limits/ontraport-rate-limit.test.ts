import { afterAll, beforeAll, expect, it } from 'vitest';
import { submitManifest } from '../../src/batches/submit.js';
import { waitForBatch } from '../../src/batches/wait.js';
import { startStack, type TestStack } from '../helpers/stack.js';
import { spawnWorker, type WorkerProcess } from '../helpers/worker-process.js';

/**
 * ONTRAPORT's per-account limit (180 a minute), scaled down to 30 per 10 s: three worker processes
 * together never draw a 429 from a sandbox enforcing the same sliding window, and still reach the
 * limit's rate (at least 95%).
 */

const LIMIT = { max: 30, perMs: 10_000 };
const PAYMENTS = 60;
let stack: TestStack;
let workers: WorkerProcess[] = [];

beforeAll(async () => {
  stack = await startStack({ providers: ['ontraport'], account: { rateLimit: LIMIT, concurrency: 5 }, sandbox: { rateLimit: LIMIT } });
  workers = await Promise.all([0, 1, 2].map(() => spawnWorker(stack.configFile)));
});
afterAll(async () => {
  await Promise.all(workers.map((w) => w.stop()));
  await stack?.close();
});

it('three worker processes stay within 30 per 10 s in every sliding window and reach at least 95% of it', async () => {
  const rows = Array.from({ length: PAYMENTS }, (_, i) => `ot-${i},${129001 + (i % 20)},1,1720,1,Visit stipend,1.00`);
  const file = await stack.manifest('ontraport.csv', ['payment_id,contact_id,invoice_id,gateway_id,product_id,description,amount', ...rows].join('\n'));
  const result = await submitManifest(stack.context, { file, account: stack.account('ontraport') });
  if (!result.accepted) throw new Error('manifest rejected');
  const batch = await waitForBatch(stack.context, result.batchId, { pollMs: 200 });
  expect(batch.n_paid).toBe(PAYMENTS);
  expect(stack.sandboxes.ontraport!.transactions()).toHaveLength(PAYMENTS);

  const arrivals = stack.sandboxes.ontraport!.requests().filter((r) => r.path === '/payments.php');
  expect(arrivals.filter((r) => r.status !== 200)).toEqual([]);
  const times = arrivals.map((r) => r.at).sort((a, b) => a - b);
  const busiest = Math.max(...times.map((t) => times.filter((u) => u >= t && u < t + LIMIT.perMs).length));
  expect(busiest).toBeLessThanOrEqual(LIMIT.max);
  // Steady-state rate over the whole batch, as a share of the limit's rate.
  const rate = ((times.length - 1) / (times.at(-1)! - times[0]!)) * LIMIT.perMs;
  expect(rate / LIMIT.max).toBeGreaterThanOrEqual(0.95);
  // All three processes took part.
  for (const worker of workers) expect(worker.logs.filter((l) => l.msg === 'payment settled').length).toBeGreaterThan(0);
});
