import { readFile } from 'node:fs/promises';
import { Queue } from 'bullmq';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { submitManifest } from '../../src/batches/submit.js';
import { waitForBatch } from '../../src/batches/wait.js';
import { openContext, type StipendContext } from '../../src/context.js';
import { manifestRows, scanManifest } from '../../src/manifest/index.js';
import { enqueueRows } from '../../src/queue/enqueue.js';
import { bullPrefix, queueName } from '../../src/queue/payment-job.js';
import { writeReconciliation } from '../../src/reports/reconciliation.js';
import { parseReport, startStack, type TestStack } from '../helpers/stack.js';

/**
 * Path 5 of "never twice, never lost": the same file submitted twice at once (two operators, `run`
 * and `watch`, a watcher that lost its lease). One enqueue per file runs at a time; a chunk is
 * recorded only where the batch's progress is what its enqueue expects.
 */

let stack: TestStack;
// Two submitters, each with its own Redis connection, as two processes would have.
let other: StipendContext;
// Paused while a test counts its jobs: a payment job is removed as it completes.
let payQueue: Queue;
beforeAll(async () => {
  stack = await startStack({ providers: ['ctpayer'], account: { rateLimit: { max: 5000, perMs: 1000 }, concurrency: 50 } });
  other = await openContext(stack.config);
  payQueue = new Queue(queueName(stack.account('ctpayer')), { connection: stack.context.redis, prefix: bullPrefix(stack.prefix, stack.account('ctpayer')) });
  await stack.startWorkers();
});
// A test that failed while paused leaves the next one its workers.
afterEach(async () => {
  await payQueue.resume();
});
afterAll(async () => {
  await payQueue?.close();
  await other?.close();
  await stack?.close();
});

const manifest = (tag: string, rows: number) =>
  stack.manifest(`${tag}.csv`, [
    'payment_id,cardId,amount,description',
    ...Array.from({ length: rows }, (_, i) => `${tag}-${i},10000000${String((i % 20) + 1).padStart(2, '0')},${1 + (i % 5)}.00,Visit stipend`),
  ].join('\n'));

/** The batches recorded for this file's SHA-256 (every batch carries it). */
async function batchesOf(sha256: string): Promise<string[]> {
  const ids = await stack.context.redis.zrange(stack.context.keys.batches(), 0, '-1');
  const found: string[] = [];
  for (const id of ids) if ((await stack.context.batches.get(id)).sha256 === sha256) found.push(id);
  return found;
}

async function recordedLines(batchId: string): Promise<number[]> {
  const lines: number[] = [];
  for await (const page of stack.context.rows.pages(batchId)) lines.push(...page.map((r) => r.line));
  return lines;
}

/** Jobs of this batch in the account's queue, whatever state they are in (a job is a hash named by its id). */
async function jobsOf(batchId: string): Promise<number> {
  const base = `${bullPrefix(stack.prefix, stack.account('ctpayer'))}:${queueName(stack.account('ctpayer'))}:${batchId}.`;
  const keys = await stack.context.redis.keys(`${base}*`);
  return keys.filter((key) => !key.slice(base.length).includes(':')).length;
}

/** Waits for the batch, writes its report, and checks each row is there once and paid once. */
async function expectPaidOnce(batchId: string, tag: string, rows: number) {
  const batch = await waitForBatch(stack.context, batchId, { pollMs: 100 });
  expect(batch).toMatchObject({ state: 'enqueued', accepted: rows, duplicates: 0, final: rows, n_paid: rows });
  const report = parseReport(await readFile((await writeReconciliation(stack.context, batchId, stack.dir)).csv, 'utf8'));
  expect(report.map((r) => r.payment_id)).toEqual(Array.from({ length: rows }, (_, i) => `${tag}-${i}`));
  expect(report.every((r) => r.status === 'paid')).toBe(true);
  const applied = stack.sandboxes.ctpayer!.transactions().filter((t) => t.kind === 'load' && t.key?.startsWith(`${tag}-`));
  expect(applied).toHaveLength(rows);
  expect(new Set(applied.map((t) => t.key)).size).toBe(rows);
  expect(applied.reduce((sum, t) => sum + t.amountCents, 0)).toBe(Array.from({ length: rows }, (_, i) => 100 * (1 + (i % 5))).reduce((a, b) => a + b, 0));
}

it('the same 6,000-row file submitted twice at once: one batch, each row recorded and queued once, it settles, its report has each row once', async () => {
  const ROWS = 6000;
  await payQueue.pause();
  const file = await manifest('twice', ROWS);
  const account = stack.account('ctpayer');
  const outcomes = await Promise.allSettled([submitManifest(stack.context, { file, account }), submitManifest(other, { file, account })]);

  const accepted = outcomes.flatMap((o) => (o.status === 'fulfilled' && o.value.accepted ? [o.value.batchId] : []));
  const refused = outcomes.flatMap((o) => (o.status === 'rejected' ? [o.reason as { code?: string; message: string }] : []));
  expect(accepted).toHaveLength(1);
  expect(refused).toHaveLength(1);
  expect(refused[0]).toMatchObject({ code: 'ENQUEUE_BUSY' });
  expect(refused[0]!.message).toMatch(/twice\.csv is being queued by another submitter/);

  const { sha256 } = await scanManifest(file, account.adapter);
  expect(await batchesOf(sha256)).toEqual(accepted);
  const batchId = accepted[0]!;
  expect(await recordedLines(batchId)).toEqual(Array.from({ length: ROWS }, (_, i) => i + 2));
  expect(await jobsOf(batchId)).toBe(ROWS);
  await payQueue.resume();
  await expectPaidOnce(batchId, 'twice', ROWS);
});

/** A batch whose enqueue stopped at line 800 (mid-chunk), as a crash leaves it. */
async function interruptedBatch(batchId: string, tag: string, rows: number) {
  const file = await manifest(tag, rows);
  const account = stack.account('ctpayer');
  const scan = await scanManifest(file, account.adapter);
  await stack.context.batches.create({ batchId, provider: 'ctpayer', account: 'main', source: `${tag}.csv`, sha256: scan.sha256, rowsTotal: rows });
  async function* dyingAt(line: number) {
    for await (const row of manifestRows(file, account.adapter)) {
      if (row.line === line) throw new Error('process killed');
      yield row;
    }
  }
  await expect(enqueueRows(stack.context, account, batchId, dyingAt(800), { addJobs: true })).rejects.toThrow('process killed');
  expect(await stack.context.batches.get(batchId)).toMatchObject({ state: 'enqueuing', accepted: 500, enqueued_line: 501 });
  return { file, account };
}

it('an interrupted batch resumed by two submitters at once is finished by one of them: each row once, it settles', async () => {
  const ROWS = 1500;
  await payQueue.pause();
  const { file, account } = await interruptedBatch('resumed-twice', 'resume2', ROWS);
  const outcomes = await Promise.allSettled([submitManifest(stack.context, { file, account }), submitManifest(other, { file, account })]);

  expect(outcomes.filter((o) => o.status === 'fulfilled').map((o) => o.value)).toMatchObject([{ accepted: true, batchId: 'resumed-twice' }]);
  expect(outcomes.filter((o) => o.status === 'rejected').map((o) => o.reason)).toMatchObject([{ code: 'ENQUEUE_BUSY' }]);
  expect(await recordedLines('resumed-twice')).toEqual(Array.from({ length: ROWS }, (_, i) => i + 2));
  expect(await jobsOf('resumed-twice')).toBe(ROWS);
  await payQueue.resume();
  await expectPaidOnce('resumed-twice', 'resume2', ROWS);
});

it('two enqueues of one batch past any lock (a submitter that lost it): each chunk is recorded once, the later one stops', async () => {
  const ROWS = 1500;
  await payQueue.pause();
  const { file, account } = await interruptedBatch('lost-lock', 'lostlock', ROWS);
  const resume = (context: StipendContext) => enqueueRows(context, account, 'lost-lock', manifestRows(file, account.adapter), { afterLine: 501, addJobs: true });
  const outcomes = await Promise.allSettled([resume(stack.context), resume(other)]);

  expect(outcomes.filter((o) => o.status === 'rejected').map((o) => o.reason)).toMatchObject([{ code: 'ENQUEUE_OVERTAKEN' }]);
  expect(await recordedLines('lost-lock')).toEqual(Array.from({ length: ROWS }, (_, i) => i + 2));
  expect(await stack.context.batches.get('lost-lock')).toMatchObject({ accepted: ROWS, enqueued_line: ROWS + 1 });
  expect(await jobsOf('lost-lock')).toBe(ROWS);
  await payQueue.resume();
  await stack.context.batches.markEnqueued('lost-lock');
  await expectPaidOnce('lost-lock', 'lostlock', ROWS);
});
