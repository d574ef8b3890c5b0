import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { submitManifest } from '../../src/batches/submit.js';
import { waitForBatch } from '../../src/batches/wait.js';
import { clusterSeeds } from '../helpers/cluster-seeds.js';
import { startStack, type TestStack } from '../helpers/stack.js';
import { spawnWorker, type WorkerProcess } from '../helpers/worker-process.js';

/** One account's rate limit holds across worker processes, in every sliding window: on one Redis and on a cluster. */

const LIMIT = { max: 5, perMs: 1000 };
const TARGETS = [{ target: 'one Redis', cluster: () => undefined }, { target: 'Redis Cluster', cluster: clusterSeeds }];

describe.each(TARGETS)('on $target', ({ cluster }) => {
  let stack: TestStack;
  let workers: WorkerProcess[] = [];

  beforeAll(async () => {
    stack = await startStack({ providers: ['ctpayer'], account: { rateLimit: LIMIT, concurrency: 4 }, sandbox: { rateLimit: LIMIT }, cluster: cluster() });
    workers = await Promise.all([spawnWorker(stack.configFile), spawnWorker(stack.configFile)]);
  });
  afterAll(async () => {
    await Promise.all(workers.map((w) => w.stop()));
    await stack?.close();
  });

  it('two worker processes together never exceed the limit and still use it', async () => {
    const rows = Array.from({ length: 30 }, (_, i) => `rl-${i},10000000${String((i % 20) + 1).padStart(2, '0')},1.00,Rate limit test`);
    const file = await stack.manifest('rate.csv', ['payment_id,cardId,amount,description', ...rows].join('\n'));
    const result = await submitManifest(stack.context, { file, account: stack.account('ctpayer') });
    if (!result.accepted) throw new Error('manifest rejected');
    const batch = await waitForBatch(stack.context, result.batchId, { pollMs: 100 });
    expect(batch.n_paid).toBe(30);

    const arrivals = stack.sandboxes.ctpayer!.requests().filter((r) => r.path === '/loadcard.php');
    const refused = arrivals.filter((r) => r.status !== 200);
    expect(refused, JSON.stringify(arrivals.map((r) => [r.at - arrivals[0]!.at, r.status]))).toEqual([]); // no request drew a 429
    expect(arrivals).toHaveLength(30);
    const times = arrivals.map((r) => r.at).sort((a, b) => a - b);
    // The busiest sliding window (starting at each arrival) holds at most the limit…
    const busiest = Math.max(...times.map((t) => times.filter((u) => u >= t && u < t + LIMIT.perMs).length));
    expect(busiest).toBeLessThanOrEqual(LIMIT.max);
    // …and both processes did part of the work.
    for (const worker of workers) expect(worker.logs.filter((l) => l.msg === 'payment settled').length).toBeGreaterThan(0);
    // The logs trace every payment's state changes, and never hold the account's credentials. A
    // worker's last lines may still be in its stdout pipe when the batch settles: they are awaited.
    const logs = () => workers.flatMap((w) => w.logs);
    await vi.waitFor(() => {
      for (const state of ['sending', 'paid']) {
        expect(new Set(logs().filter((l) => l.status === state).map((l) => l.paymentId)).size, state).toBe(30);
      }
    }, { timeout: 10_000, interval: 100 });
    expect(JSON.stringify(logs())).not.toContain('sandbox-password');
  });
});
