import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { submitManifest } from '../../src/batches/submit.js';
import { waitForBatch } from '../../src/batches/wait.js';
import { FINAL_STATUSES } from '../../src/ledger/payments.js';
import { redisServerInstalled } from '../helpers/private-redis.js';
import { startReplicatedRedis } from '../helpers/replicated-redis.js';
import { startStack, type TestStack } from '../helpers/stack.js';
import { spawnWorker, type WorkerProcess } from '../helpers/worker-process.js';

/**
 * Issue 11, path 3: Redis loses acknowledged writes. The replica stops receiving while the primary
 * takes sending marks and payments; then the primary dies and Redis carries on from the replica's
 * older copy. A mark that copy lacks makes a sent VirtualRx payment (no idempotency key, no lookup)
 * look queued again. With redis.waitReplicas no request leaves before its mark reached the replica,
 * so nothing is paid twice.
 */

const installed = redisServerInstalled();
const ROWS = 200;
let dir: string;
let redis: Awaited<ReturnType<typeof startReplicatedRedis>>;
let stack: TestStack;
let workers: WorkerProcess[] = [];

beforeAll(async () => {
  if (!installed) return;
  dir = await mkdtemp(join(tmpdir(), 'stipend-write-loss-'));
  redis = await startReplicatedRedis(dir);
  stack = await startStack({
    providers: ['virtualrx'],
    redisUrl: redis.url,
    account: { rateLimit: { max: 40, perMs: 1000, marginMs: 0 }, concurrency: 4, retry: { attempts: 20, backoffMs: 100 }, timeoutMs: 2000 },
    workers: { lockDurationMs: 2000, sweepIntervalMs: 1000 },
  });
  // The workers' configuration: each sending mark must reach the replica before its request leaves.
  const raw = JSON.parse(await readFile(stack.configFile, 'utf8'));
  raw.redis = { ...raw.redis, waitReplicas: 1, confirmTimeoutMs: 300 };
  const configFile = join(stack.dir, 'wait-replicas.config.json');
  await writeFile(configFile, JSON.stringify(raw));
  workers = await Promise.all([0, 1].map(() => spawnWorker(configFile)));
});
afterAll(async () => {
  await Promise.all(workers.map((w) => w.stop('SIGKILL')));
  await stack?.close();
  await redis?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

it.skipIf(!installed)('path 3, failover to an older copy: nothing applied twice, every row final', { timeout: 180_000 }, async () => {
  const file = await stack.manifest(
    'vrx.csv',
    ['payment_id,CustId,ProgramId,ClaimReferenceNumber,ClientGroupID,amount_cents', ...Array.from({ length: ROWS }, (_, i) => `wl-${i},${20230226001 + (i % 20)},7311,CLM-WL-${i},GRP-1,${500 + i}`)].join('\n'),
  );
  const submitted = await submitManifest(stack.context, { file, account: stack.account('virtualrx') });
  if (!submitted.accepted) throw new Error('refused');
  const { batchId } = submitted;

  while ((await stack.context.batches.get(batchId)).final < 40) await new Promise((resolve) => setTimeout(resolve, 50));
  // The primary takes marks and outcomes the replica never receives...
  redis.pauseReplica();
  const appliedBefore = stack.sandboxes.virtualrx!.transactions().length;
  await new Promise((resolve) => setTimeout(resolve, 1500));
  // ...and Redis carries on from the replica's copy, without them.
  await redis.failover();

  const batch = await waitForBatch(stack.context, batchId, { pollMs: 200 });
  expect(batch.final).toBe(ROWS);
  const applied = stack.sandboxes.virtualrx!.transactions().map((t) => t.key!);
  const twice = applied.filter((key, i) => applied.indexOf(key) !== i);
  expect(twice, `applied twice (${appliedBefore} applied when the replica stopped)`).toEqual([]);
  const ledger = stack.context.payments(stack.account('virtualrx'));
  const records = await Promise.all(Array.from({ length: ROWS }, (_, i) => ledger.get({ batchId, paymentId: `wl-${i}` })));
  expect(records.every((r) => (FINAL_STATUSES as readonly string[]).includes(r!.status))).toBe(true);
  const byKey = new Map(records.map((r, i) => [`CLM-WL-${i}`, r!]));
  // Every paid row was applied; anything applied is paid, or unknown because its answer was lost in the failover.
  expect(records.filter((r, i) => r!.status === 'paid' && !applied.includes(`CLM-WL-${i}`))).toEqual([]);
  expect(applied.filter((key) => !['paid', 'unknown'].includes(byKey.get(key)!.status))).toEqual([]);
});
