import { readFile } from 'node:fs/promises';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { cancelBatch } from '../../src/batches/cancel.js';
import { submitManifest } from '../../src/batches/submit.js';
import { waitForBatch } from '../../src/batches/wait.js';
import type { Account } from '../../src/config/load.js';
import { type ManifestRow, manifestRows, scanManifest } from '../../src/manifest/index.js';
import { enqueueRows } from '../../src/queue/enqueue.js';
import { bullPrefix, paymentJob, queueName } from '../../src/queue/payment-job.js';
import { writeReconciliation } from '../../src/reports/reconciliation.js';
import { parseReport, startStack, type TestStack } from '../helpers/stack.js';
import { stipend } from '../helpers/stipend-process.js';

/**
 * Path 6 of "never twice, never lost": an enqueue interrupted for good. `stipend cancel` abandons it:
 * what it queued is paid as usual, what it claimed without queuing is released for a later manifest.
 */

let stack: TestStack;
beforeAll(async () => {
  stack = await startStack({ providers: ['ctpayer'], account: { rateLimit: { max: 5000, perMs: 1000 }, concurrency: 50 } });
  await stack.startWorkers();
});
afterAll(() => stack?.close());

const csv = (tag: string, ids: number[]) =>
  ['payment_id,cardId,amount,description', ...ids.map((i) => `${tag}-${i},10000000${String((i % 20) + 1).padStart(2, '0')},${1 + (i % 5)}.00,Visit stipend`)].join('\n');
const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);


const applied = (tag: string) => stack.sandboxes.ctpayer!.transactions().filter((t) => t.kind === 'load' && t.key?.startsWith(`${tag}-`));

async function rowsOf(file: string, account: Account, from: number, to: number): Promise<Extract<ManifestRow, { ok: true }>['payment'][]> {
  const found = [];
  for await (const row of manifestRows(file, account.adapter)) if (row.ok && row.line >= from && row.line <= to) found.push(row.payment);
  return found;
}
const toNew = (p: Awaited<ReturnType<typeof rowsOf>>[number]) => ({
  line: p.line, paymentId: p.paymentId, payee: p.payee, amountCents: p.amountCents, reimbursement: p.reimbursement,
  fields: Object.fromEntries(Object.entries(p.fields).filter((e): e is [string, string] => e[1] !== undefined)),
});

/**
 * A batch as a submitter killed mid-enqueue leaves it (1,500 rows, chunks of 500): lines 2-501
 * recorded and queued; lines 502-1001 claimed and their jobs added, not yet recorded; lines
 * 1002-1501 claimed, nothing more (the next chunk is claimed while the previous one is written).
 */
async function killedMidEnqueue(batchId: string, tag: string, options: { approval?: boolean } = {}) {
  const file = await stack.manifest(`${tag}.csv`, csv(tag, range(0, 1500)));
  const account = stack.account('ctpayer');
  const { sha256 } = await scanManifest(file, account.adapter);
  const approval = options.approval ?? false;
  await stack.context.batches.create({ batchId, provider: 'ctpayer', account: 'main', source: `${tag}.csv`, sha256, rowsTotal: 1500, needsApproval: approval });
  async function* killedAt(line: number) {
    for await (const row of manifestRows(file, account.adapter)) {
      if (row.line === line) throw new Error('process killed');
      yield row;
    }
  }
  await expect(enqueueRows(stack.context, account, batchId, killedAt(600), { addJobs: !approval })).rejects.toThrow('process killed');
  const ledger = stack.context.payments(account);
  const written = await rowsOf(file, account, 502, 1001);
  await ledger.claim(batchId, written.map(toNew));
  // A batch awaiting approval adds no job.
  if (!approval) {
    const queue = new Queue(queueName(account), { connection: stack.context.redis, prefix: bullPrefix(stack.prefix, account) });
    await queue.addBulk(written.map((p) => paymentJob(account, { batchId, paymentId: p.paymentId, amountCents: p.amountCents, fields: toNew(p).fields })));
    await queue.close();
  }
  await ledger.claim(batchId, (await rowsOf(file, account, 1002, 1501)).map(toNew));
  expect(await stack.context.batches.get(batchId)).toMatchObject({ state: 'enqueuing', accepted: 500, enqueued_line: 501 });
  return { file, account };
}

it('cancel abandons an interrupted enqueue: its queued payments are paid and it settles; claims that never got a job are released and a later manifest pays them', async () => {
  const { account } = await killedMidEnqueue('stuck', 'ab');
  // Meanwhile a later manifest finds those payments held by the stuck batch: not paid.
  const later = await submitManifest(stack.context, { file: await stack.manifest('later.csv', csv('ab', range(1200, 1210))), account });
  if (!later.accepted) throw new Error('refused');
  expect(await waitForBatch(stack.context, later.batchId, { pollMs: 50 })).toMatchObject({ accepted: 0, duplicates: 10 });

  const abandoned = await cancelBatch(stack.context, 'stuck', { identity: 'olga' });
  expect(abandoned).toMatchObject({ state: 'enqueued', abandoned_by: 'olga', released: 500, accepted: 1000, enqueued_line: 1001 });
  const settled = await waitForBatch(stack.context, 'stuck', { pollMs: 100 });
  expect(settled).toMatchObject({ final: 1000, n_paid: 1000, c_paid: range(0, 1000).reduce((sum, i) => sum + 100 * (1 + (i % 5)), 0) });
  const report = parseReport(await readFile((await writeReconciliation(stack.context, 'stuck', stack.dir)).csv, 'utf8'));
  expect(report.map((r) => [r.line, r.payment_id, r.status])).toEqual(range(0, 1000).map((i) => [String(i + 2), `ab-${i}`, 'paid']));

  // Released: the same payments in another manifest are paid now, once.
  const again = await submitManifest(stack.context, { file: await stack.manifest('again.csv', csv('ab', range(1200, 1210))), account });
  if (!again.accepted) throw new Error('refused');
  expect(await waitForBatch(stack.context, again.batchId, { pollMs: 50 })).toMatchObject({ accepted: 10, n_paid: 10, duplicates: 0 });
  const keys = applied('ab').map((t) => t.key!);
  expect(keys).toHaveLength(1010);
  expect(new Set(keys)).toEqual(new Set([...range(0, 1000), ...range(1200, 1210)].map((i) => `ab-${i}`)));
});

it('stipend cancel refuses an enqueuing batch while an enqueue holds its file (one line, exit 2, nothing changed), then abandons it', async () => {
  const { file } = await killedMidEnqueue('busy', 'bz');
  const { sha256 } = await scanManifest(file, stack.account('ctpayer').adapter);
  // Another process is resuming it right now: it holds the file.
  await stack.context.redis.set(stack.context.keys.enqueueLock('ctpayer', sha256), 'another-process', 'PX', 30_000);
  const refused = await stipend(['--config', stack.configFile, 'cancel', 'busy', '--by', 'olga']);
  expect(refused).toMatchObject({ code: 2, stdout: '' });
  expect(refused.stderr).toMatch(/^stipend: batch busy is being queued right now; nothing was canceled[^\n]*\n$/);
  expect(await stack.context.batches.get('busy')).toMatchObject({ state: 'enqueuing', accepted: 500, enqueued_line: 501, released: 0 });
  await stack.context.redis.del(stack.context.keys.enqueueLock('ctpayer', sha256));

  const done = await stipend(['--config', stack.configFile, 'cancel', 'busy', '--by', 'olga']);
  expect(done).toMatchObject({ code: 0, stderr: '' });
  expect(done.stdout).toMatch(/^batch busy: its interrupted enqueue abandoned by olga \(\S+\); the 1000 payments it queued are paid as usual .*, 500 it claimed without queuing were released for a later manifest\nreport: \S+reconciliation\.csv\n/);
  expect(await waitForBatch(stack.context, 'busy', { pollMs: 100 })).toMatchObject({ state: 'enqueued', released: 500, accepted: 1000, n_paid: 1000 });
});

it('an interrupted enqueue of a batch that awaited approval is canceled whole: nothing sent, every claim free to be paid by a later manifest', async () => {
  const { account } = await killedMidEnqueue('held', 'hd', { approval: true });
  const canceled = await cancelBatch(stack.context, 'held', { identity: 'olga' });
  expect(canceled).toMatchObject({ state: 'canceled', canceled_by: 'olga', abandoned_by: 'olga', released: 1000, accepted: 500, final: 500, n_failed: 500 });
  expect(applied('hd')).toEqual([]);
  // A recorded row (now failed: nothing sent) and a released one are both paid by the next manifest.
  const later = await submitManifest(stack.context, { file: await stack.manifest('hd-later.csv', csv('hd', [3, 1300])), account });
  if (!later.accepted) throw new Error('refused');
  expect(await waitForBatch(stack.context, later.batchId, { pollMs: 50 })).toMatchObject({ accepted: 2, n_paid: 2 });
  expect(applied('hd').map((t) => t.key).sort()).toEqual(['hd-1300', 'hd-3']);
});
