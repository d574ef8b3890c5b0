import { mkdir, readdir, rename, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ApprovalRefusedError } from '../../src/approval/approval-errors.js';
import { approveBatch } from '../../src/batches/approval.js';
import { cancelBatch } from '../../src/batches/cancel.js';
import { submitManifest } from '../../src/batches/submit.js';
import { waitForBatch } from '../../src/batches/wait.js';
import type { Account } from '../../src/config/load.js';
import { startWatcher } from '../../src/ingest/watcher.js';
import type { BatchRecord } from '../../src/ledger/batches.js';
import { createLogger } from '../../src/log.js';
import { openAccountQueue } from '../../src/queue/account-queue.js';
import { paymentJobId } from '../../src/queue/payment-job.js';
import { startStack, type TestStack } from '../helpers/stack.js';
import { stipend } from '../helpers/stipend-process.js';

/**
 * Maker-checker where money moves: the submitter's configuration needs no approval, but the worker's
 * own needs one for batches above $100.00. The worker sends nothing, holds the batch for approval and
 * completes its jobs; a person other than the submitter approves it and each payment is paid once.
 */

let stack: TestStack;
let strict: Account;
beforeAll(async () => {
  stack = await startStack({ providers: ['ctpayer'], workers: { sweepIntervalMs: 200 } });
  strict = { ...stack.account('ctpayer'), approval: { above: '100.00' } };
  await stack.startWorkers([strict]);
});
afterAll(() => stack?.close());

const WORKER = `service:worker@${hostname()}`;
const loads = (prefix: string) => stack.sandboxes.ctpayer!.transactions().filter((t) => t.key?.startsWith(prefix));
const loadRequests = () => stack.sandboxes.ctpayer!.requests().filter((r) => r.path.includes('loadcard')).length;
const manifest = (rows: [string, string][]) => ['payment_id,cardId,amount,description', ...rows.map(([id, amount], i) => `${id},${1000000001 + i},${amount},Visit stipend`)].join('\n');

async function submit(name: string, rows: [string, string][]): Promise<string> {
  // Submitted under the lenient configuration: the submitter's rule needs no approval.
  const result = await submitManifest(stack.context, { file: await stack.manifest(name, manifest(rows)), account: stack.account('ctpayer'), submittedBy: { identity: 'alice@maker-host', displayName: 'Alice' } });
  if (!result.accepted) throw new Error('refused');
  return result.batchId;
}

async function until(batchId: string, done: (batch: BatchRecord) => boolean): Promise<BatchRecord> {
  for (;;) {
    const batch = await stack.context.batches.get(batchId);
    if (done(batch)) return batch;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

it('holds a batch its submitter\'s rule let through: nothing sent, jobs done, not swept again; approved by another person, each payment is paid once', async () => {
  const before = loadRequests();
  const batchId = await submit('held.csv', [['wa-1', '80.00'], ['wa-2', '70.00']]);
  const held = await until(batchId, (b) => b.state === 'awaiting_approval');
  expect(held).toMatchObject({ submitted_by: 'alice@maker-host', approval_rule: 'none', total_cents: 15000, needs_approval: '1', held_by: WORKER });
  expect(held.held_reason).toMatch(/above ctpayer\/main's approval threshold of \$100\.00/);

  // The jobs end without a call, and the sweeper adds none back while the batch waits.
  const queue = openAccountQueue(stack.context.redis, stack.config.prefix, strict);
  try {
    for (;;) {
      const jobs = await Promise.all(['wa-1', 'wa-2'].map((p) => queue.getJob(paymentJobId(batchId, p))));
      if (jobs.every((job) => job === undefined)) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await new Promise((resolve) => setTimeout(resolve, 1000)); // five sweeps
    expect(await Promise.all(['wa-1', 'wa-2'].map((p) => queue.getJob(paymentJobId(batchId, p))))).toEqual([undefined, undefined]);
  } finally {
    await queue.close();
  }
  expect(loadRequests()).toBe(before);
  expect(loads('wa-')).toEqual([]);
  for (const p of ['wa-1', 'wa-2']) expect(await stack.context.payments(strict).get({ batchId, paymentId: p })).toMatchObject({ status: 'queued', attempts: 0 });

  // Neither the submitter nor a service may release it.
  await expect(approveBatch(stack.context, batchId, { identity: 'ALICE@maker-host' })).rejects.toThrow(new ApprovalRefusedError(`ALICE@maker-host submitted batch ${batchId}; someone else must approve it`));
  await expect(approveBatch(stack.context, batchId, { identity: WORKER })).rejects.toThrow(/is a service; only a person approves a batch/);
  expect(await approveBatch(stack.context, batchId, { identity: 'bob@checker-host', displayName: 'Bob' })).toMatchObject({ state: 'enqueued', approved_by: 'bob@checker-host', approved_by_name: 'Bob' });
  expect(await waitForBatch(stack.context, batchId, { pollMs: 50 })).toMatchObject({ n_paid: 2, final: 2 });
  expect(loads('wa-').map((t) => t.key).sort()).toEqual(['wa-1', 'wa-2']);
  expect(loadRequests() - before).toBe(2);
});

it('a held batch canceled settles with nothing sent', async () => {
  const before = loadRequests();
  const batchId = await submit('held-cancel.csv', [['wc-1', '90.00'], ['wc-2', '90.00']]);
  await until(batchId, (b) => b.state === 'awaiting_approval');
  // The submitter may withdraw it: canceling pays nothing.
  expect(await cancelBatch(stack.context, batchId, { identity: 'alice@maker-host' })).toMatchObject({ state: 'canceled', n_failed: 2, final: 2 });
  expect(await waitForBatch(stack.context, batchId, { pollMs: 50 })).toMatchObject({ state: 'canceled', n_paid: 0 });
  expect(loadRequests()).toBe(before);
});

it('a held batch whose cancellation stopped right after its decision is settled by the sweeper, nothing sent', async () => {
  const before = loadRequests();
  const batchId = await submit('held-cut.csv', [['wx-1', '90.00'], ['wx-2', '90.00']]);
  await until(batchId, (b) => b.state === 'awaiting_approval');
  // cancelBatch's decision alone: its payments are left queued, as a cancellation cut short leaves them.
  expect(await stack.context.batches.decide(batchId, 'canceled', { identity: 'carol@checker-host', displayName: 'Carol' })).toBe(true);
  const settled = await waitForBatch(stack.context, batchId, { pollMs: 50 });
  expect(settled).toMatchObject({ state: 'canceled', n_failed: 2, n_paid: 0 });
  expect(await stack.context.payments(strict).get({ batchId, paymentId: 'wx-1' })).toMatchObject({ status: 'failed', code: 'CANCELED', message: 'batch canceled by Carol (carol@checker-host) before this payment was sent' });
  expect(loadRequests()).toBe(before);
});

it('a batch within the worker\'s threshold is paid without approval', async () => {
  const batchId = await submit('small.csv', [['ws-1', '60.00'], ['ws-2', '40.00']]);
  expect(await waitForBatch(stack.context, batchId, { pollMs: 50 })).toMatchObject({ state: 'enqueued', n_paid: 2 });
  expect((await stack.context.batches.get(batchId)).approved_by).toBeUndefined();
});

it('a watcher\'s batch has the watcher as its submitter: a person may approve it, the watcher may not', async () => {
  const root = join(stack.dir, 'drop');
  const inbox = join(root, 'inbox', 'ctpayer', 'main');
  await mkdir(inbox, { recursive: true });
  const watcher = await startWatcher(stack.context, root, { stableMs: 100, concurrency: 1, leaseMs: 5000, log: createLogger({ level: 'silent' }) });
  try {
    await writeFile(join(inbox, '.dropped.part'), manifest([['ww-1', '120.00']]));
    await rename(join(inbox, '.dropped.part'), join(inbox, 'dropped.csv'));
    let batchId: string | undefined;
    while (batchId === undefined) {
      const open = await Promise.all((await stack.context.batches.openBatchIds()).map((id) => stack.context.batches.get(id)));
      batchId = open.find((b) => b.source.endsWith('dropped.csv') && b.state === 'awaiting_approval')?.batch_id;
      if (batchId === undefined) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const watcherIdentity = `service:watch@${hostname()}`;
    expect(await stack.context.batches.get(batchId)).toMatchObject({ submitted_by: watcherIdentity, held_by: WORKER });
    await expect(approveBatch(stack.context, batchId, { identity: watcherIdentity })).rejects.toThrow(ApprovalRefusedError);
    await approveBatch(stack.context, batchId, { identity: 'carol@checker-host' });
    const archived = join(root, 'archive', 'ctpayer', 'main');
    while ((await readdir(archived).catch(() => [])).length < 1) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(loads('ww-1')).toHaveLength(1);
  } finally {
    await watcher.close();
  }
});

it('stipend run, submitting under a configuration without approval, ends as for a held batch (exit 3) once a worker holds it', async () => {
  const before = loadRequests();
  const file = await stack.manifest('run-held.csv', manifest([['wr-1', '150.00']]));
  const run = await stipend(['--config', stack.configFile, 'run', file, '--provider', 'ctpayer'], { deadlineMs: 60_000 });
  expect(run.code, run.stderr).toBe(3);
  expect(run.stdout).toMatch(/held by service:worker@\S+ at \S+: the batch totals \$150\.00, above ctpayer\/main's approval threshold of \$100\.00 \(the submitter's rule: none\)/);
  expect(run.stdout).toMatch(/awaiting approval: nothing is paid until a person other than \S+@\S+, logged in as another user, runs `stipend approve /);
  expect(loadRequests()).toBe(before);
}, 90_000);
