import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { submitManifest } from '../../src/batches/submit.js';
import { waitForBatch } from '../../src/batches/wait.js';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { redisServerInstalled, startPrivateRedis } from '../helpers/private-redis.js';
import { startStack, type TestStack } from '../helpers/stack.js';
import { spawnWorker, type WorkerProcess } from '../helpers/worker-process.js';

type PrivateRedis = Awaited<ReturnType<typeof startPrivateRedis>>;

/**
 * Path 12 (b, c) of "never twice, never lost": a worker told to stop while Redis is down stops
 * within the account's timeoutMs and a small bound (it cannot record anything anyway, and BullMQ's
 * close would wait for Redis for ever), says so in one log line, and logs Redis trouble through the
 * project's logger without stack traces. The payment it had in flight is settled, once, by the next
 * worker once Redis is back.
 */

let stack: TestStack | undefined;
let dir: string | undefined;
let redis: PrivateRedis | undefined;
let redisDown = false;
afterAll(async () => {
  if (redisDown) await redis?.start();
  await stack?.close();
  await redis?.kill();
  if (dir) await rm(dir, { recursive: true, force: true });
}, 120_000);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function stopWithin(worker: WorkerProcess, ms: number): Promise<{ code: number | null; elapsedMs: number }> {
  const startedAt = Date.now();
  const killer = setTimeout(() => worker.child.kill('SIGKILL'), ms);
  const code = await worker.stop('SIGTERM');
  clearTimeout(killer);
  return { code, elapsedMs: Date.now() - startedAt };
}

it.skipIf(!redisServerInstalled())('path 12c: SIGTERM stops a worker within timeoutMs plus a small bound while Redis is down', async () => {
  dir = await mkdtemp(join(tmpdir(), 'stipend-redis-down-'));
  redis = await startPrivateRedis(dir);
  // Short locks: the job the stopped worker held is taken up again soon after Redis is back.
  stack = await startStack({ providers: ['ctpayer'], redisUrl: redis.url, account: { timeoutMs: 3000 }, workers: { lockDurationMs: 5000 } });
  const timeoutMs = stack.account('ctpayer').timeoutMs;
  stack.sandboxes.ctpayer!.setFaults([{ kind: 'latency', latencyMs: 1500 }]);
  const worker = await spawnWorker(stack.configFile);
  const file = await stack.manifest('redis-down.csv', 'payment_id,cardId,amount,description\ndown-1,1000000001,9.25,Visit stipend\n');
  const submitted = await submitManifest(stack.context, { file, account: stack.account('ctpayer') });
  if (!submitted.accepted) throw new Error('manifest rejected');
  const ref = { batchId: submitted.batchId, paymentId: 'down-1' };
  const ledger = stack.context.payments(stack.account('ctpayer'));
  while ((await ledger.get(ref))?.status !== 'sending') await sleep(20);

  // Redis goes away while the payment's call is on its way; the worker reports it through its logger.
  await redis.kill();
  redisDown = true;
  const logsBefore = worker.logs.length;
  for (let waited = 0; waited < 15_000 && !worker.logs.slice(logsBefore).some((l) => Number(l.level) >= 40); waited += 100) await sleep(100);

  const { code, elapsedMs } = await stopWithin(worker, 30_000);
  expect(code).not.toBeNull(); // not killed: it stopped by itself
  expect(elapsedMs).toBeLessThan(timeoutMs + 12_000);
  expect(worker.logs.some((l) => /^stopped without Redis/.test(String(l.msg)))).toBe(true);
  // Every line is JSON from the logger, none carries a stack trace.
  expect(worker.logs.filter((l) => l.level === undefined)).toEqual([]);
  expect(worker.logs.filter((l) => JSON.stringify(l).includes('"stack"') || /\n\s+at /.test(JSON.stringify(l)))).toEqual([]);
  expect(worker.logs.some((l) => Number(l.level) >= 40 && typeof l.error === 'string')).toBe(true);

  // Redis is back: the payment left `sending` is settled by the next worker, paid once (CT Payer
  // answers the same internalPaymentId with the original transaction).
  await redis.start();
  redisDown = false;
  const next = await spawnWorker(stack.configFile);
  stack.sandboxes.ctpayer!.setFaults([]);
  const batch = await waitForBatch(stack.context, submitted.batchId, { pollMs: 100 });
  expect(await next.stop('SIGTERM')).toBe(0);
  expect(batch).toMatchObject({ n_paid: 1, c_paid: 925 });
  expect(stack.sandboxes.ctpayer!.transactions().map((t) => t.amountCents)).toEqual([925]);
}, 120_000);

it.skipIf(!redisServerInstalled())('path 12c: SIGTERM stops `stipend run --with-worker` within timeoutMs plus a small bound while Redis is down', async () => {
  // This test's own Redis and stack (the one above may have left its Redis down on failure).
  const ownDir = await mkdtemp(join(tmpdir(), 'stipend-redis-down-run-'));
  const ownRedis = await startPrivateRedis(ownDir);
  const ownStack = await startStack({ providers: ['ctpayer'], redisUrl: ownRedis.url, account: { timeoutMs: 3000 }, workers: { lockDurationMs: 5000 } });
  let down = false;
  let run: ChildProcess | undefined;
  try {
    ownStack.sandboxes.ctpayer!.setFaults([{ kind: 'latency', latencyMs: 1500 }]);
    const file = await ownStack.manifest('redis-down-run.csv', 'payment_id,cardId,amount,description\nrun-1,1000000002,4.75,Visit stipend\n');
    const command = spawn(process.execPath, ['--import', 'tsx', 'jobs/main.ts', '--config', ownStack.configFile, 'run', file, '--provider', 'ctpayer', '--with-worker', '--out', ownDir], {
      cwd: fileURLToPath(new URL('../..', import.meta.url)),
      stdio: 'ignore',
    });
    run = command;
    const exited = once(command, 'exit').then(([code]) => code as number | null);
    const ledger = ownStack.context.payments(ownStack.account('ctpayer'));
    const batchId = async () => (await ownStack.context.batches.openBatchIds())[0];
    // The command starts (slowly on a loaded machine), queues the payment and its worker sends it.
    let id: string | undefined;
    for (const deadline = Date.now() + 90_000; ; await sleep(25)) {
      id = await batchId();
      if (id !== undefined && (await ledger.get({ batchId: id, paymentId: 'run-1' }))?.status === 'sending') break;
      if (Date.now() > deadline) throw new Error('stipend run never sent the payment');
    }
    await ownRedis.kill();
    down = true;
    const startedAt = Date.now();
    command.kill('SIGTERM');
    const killer = setTimeout(() => command.kill('SIGKILL'), 30_000);
    const code = await exited;
    clearTimeout(killer);
    expect(code).toBe(1); // stopped by itself, saying Redis could not be reached
    expect(Date.now() - startedAt).toBeLessThan(ownStack.account('ctpayer').timeoutMs + 12_000);

    // Redis is back: the next worker settles the payment left sending, paid once.
    await ownRedis.start();
    down = false;
    const next = await spawnWorker(ownStack.configFile);
    ownStack.sandboxes.ctpayer!.setFaults([]);
    const batch = await waitForBatch(ownStack.context, id, { pollMs: 100, signal: AbortSignal.timeout(60_000) });
    await next.stop('SIGTERM');
    expect(batch).toMatchObject({ n_paid: 1, c_paid: 475 });
    expect(ownStack.sandboxes.ctpayer!.transactions().map((t) => t.amountCents)).toEqual([475]);
  } finally {
    run?.kill('SIGKILL');
    if (down) await ownRedis.start();
    await ownStack.close();
    await ownRedis.kill();
    await rm(ownDir, { recursive: true, force: true });
  }
}, 240_000);
