import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { archiveOlderThan, forgetExpiredHolders } from '../../src/archive/archive-old.js';
import { auditEntries, auditEntriesNewestFirst, compareStreamIds } from '../../src/audit/audit-trail.js';
import { personHere } from '../../src/audit/actor.js';
import { resolvePayment, retryFailed } from '../../src/batches/settle.js';
import { submitManifest } from '../../src/batches/submit.js';
import { waitForBatch } from '../../src/batches/wait.js';
import { openContext } from '../../src/context.js';
import { newBatchId } from '../../src/ledger/batches.js';
import { manifestRows } from '../../src/manifest/index.js';
import { ctpayer } from '../../src/providers/ctpayer.js';
import { enqueueRows } from '../../src/queue/enqueue.js';
import { writeFinanceExport } from '../../src/reports/finance-export.js';
import { writeReconciliation } from '../../src/reports/reconciliation.js';
import { reversePayments } from '../../src/reversals/reverse.js';
import { clusterSeeds } from '../helpers/cluster-seeds.js';
import { ctPayerCardBalance } from '../helpers/sandbox-state.js';
import { startStack, type TestStack } from '../helpers/stack.js';
import { stipend } from '../helpers/stipend-process.js';

/**
 * Archiving (archive/): a settled batch leaves Redis for checksummed files, and everything that read
 * it reads the same from them: status, the report, the finance export, the audit trail. What stays
 * in Redis still stops the same payment being paid again. On one Redis and on the cluster.
 */
describe.each([
  { target: 'one Redis', cluster: undefined as string[] | undefined },
  { target: 'Redis Cluster', cluster: 'cluster' as const },
].map((c) => ({ ...c, cluster: c.cluster === 'cluster' ? clusterSeeds() : undefined })))('archive on $target', ({ cluster }) => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startStack({ providers: ['ctpayer'], account: { rateLimit: { max: 5000, perMs: 1000 }, concurrency: 20 }, ...(cluster === undefined ? {} : { cluster }) });
    await stack.startWorkers();
  });
  afterAll(async () => {
    await stack?.close();
  });

  const cards = (i: number) => `10000000${String((i % 20) + 1).padStart(2, '0')}`;
  const manifest = (tag: string, rows: number) =>
    stack.manifest(`${tag}.csv`, [
      'payment_id,cardId,amount,description',
      ...Array.from({ length: rows }, (_, i) => `${tag}-${i},${cards(i)},${1 + (i % 5)}.25,Visit stipend`),
    ].join('\n'));

  async function paidBatch(tag: string, rows: number): Promise<string> {
    const submitted = await submitManifest(stack.context, { file: await manifest(tag, rows), account: stack.account('ctpayer') });
    if (!submitted.accepted) throw new Error('refused');
    await waitForBatch(stack.context, submitted.batchId, { pollMs: 50 });
    // The sweeper hands a settled batch over (leaves the open set) before it can be archived.
    await stack.context.batches.markSettled(submitted.batchId);
    return submitted.batchId;
  }

  /** Every key under the stack's prefix that names the batch (payments, rows, record), on every master; the file it came from aside. */
  async function keysOfBatch(batchId: string): Promise<string[]> {
    const { redis } = stack.context;
    const nodes = 'nodes' in redis ? redis.nodes('master') : [redis];
    const found: string[] = [];
    for (const node of nodes) {
      let cursor = '0';
      do {
        const [next, page] = await node.scan(cursor, 'MATCH', `${stack.prefix}:*${batchId}*`, 'COUNT', 1000);
        cursor = next;
        found.push(...page);
      } while (cursor !== '0');
    }
    return found.filter((key) => !key.includes(':batch-of-file:'));
  }

  it('moves a paid batch out of Redis, and status, report, export and audit read the same from its files', async () => {
    const batchId = await paidBatch('arch', 30);
    const before = {
      record: await stack.context.batches.get(batchId),
      report: await readFile((await writeReconciliation(stack.context, batchId, join(stack.dir, 'before'))).csv, 'utf8'),
      export: await readFile((await writeFinanceExport(stack.context, { from: '2000-01-01', to: '2099-12-31', out: join(stack.dir, 'before-export.csv') })).rowsFile, 'utf8'),
      audit: await collect(auditEntries(stack.context, { batchId })),
    };
    expect(before.audit.map((entry) => entry.event)).toEqual(['submitted']);
    const balances = Array.from({ length: 20 }, (_, i) => ctPayerCardBalance(stack.sandboxes.ctpayer!, cards(i)));

    const outcomes = await archiveOlderThan(stack.context, 0);
    expect(outcomes).toEqual([{ batchId, archived: true, payments: 30, compactHolders: 30, folder: join('ctpayer', 'main', batchId) }]);

    // Redis keeps nothing of its payments, rows or record; the files hold them.
    expect(await keysOfBatch(batchId)).toEqual([]);
    const folder = join(stack.config.archive.dir, 'ctpayer', 'main', batchId);
    const sums = await readFile(join(folder, 'SHA256SUMS'), 'utf8');
    expect(sums.split('\n').filter(Boolean).map((line) => line.split('  ')[1])).toEqual(['ledger.jsonl.gz', 'reconciliation.csv.gz', 'summary.json.gz']);
    for (const line of sums.split('\n').filter(Boolean)) {
      const [sha, name] = line.split('  ');
      expect(createHash('sha256').update(await readFile(join(folder, name!))).digest('hex')).toBe(sha);
    }

    const after = {
      record: await stack.context.batches.get(batchId),
      report: await readFile((await writeReconciliation(stack.context, batchId, join(stack.dir, 'after'))).csv, 'utf8'),
      export: await readFile((await writeFinanceExport(stack.context, { from: '2000-01-01', to: '2099-12-31', out: join(stack.dir, 'after-export.csv') })).rowsFile, 'utf8'),
      audit: await collect(auditEntries(stack.context, { batchId })),
    };
    expect(after.record).toMatchObject({ ...before.record, archived_at: expect.any(String) });
    expect(after.record.n_paid).toBe(30);
    expect(after.report).toBe(before.report);
    expect(after.export).toBe(before.export);
    expect(after.audit).toEqual(before.audit);

    // The same payments again: every row is a duplicate of the archived batch, and no card moves.
    const again = await submitManifest(stack.context, { file: await manifest('arch', 30), account: stack.account('ctpayer') });
    expect(again).toMatchObject({ accepted: true });
    if (!again.accepted) return;
    await waitForBatch(stack.context, again.batchId, { pollMs: 50 });
    const rows = [];
    for await (const page of stack.context.rows.pages(again.batchId)) rows.push(...page);
    expect(rows.map((row) => row.kind === 'duplicate' && row.holderBatchId)).toEqual(Array(30).fill(batchId));
    expect(Array.from({ length: 20 }, (_, i) => ctPayerCardBalance(stack.sandboxes.ctpayer!, cards(i)))).toEqual(balances);

    // Read-only from now on.
    await expect(retryFailed(stack.context, batchId)).rejects.toMatchObject({ code: 'BATCH_ARCHIVED' });
    await expect(reversePayments(stack.context, { batchId, all: true, reason: 'Test' }, personHere())).rejects.toMatchObject({ code: 'BATCH_ARCHIVED' });
  });

  it('never sends again a failed payment that a later, archived batch paid', async () => {
    const account = stack.account('ctpayer');
    const ledger = stack.context.payments(account);
    // Two batches recorded through the ledger (no jobs): A's payment fails, B then pays the same id.
    const recorded = async (tag: string) => {
      const batchId = newBatchId();
      await stack.context.batches.create({ batchId, provider: 'ctpayer', account: 'main', source: `${tag}.csv`, sha256: batchId, rowsTotal: 1 });
      await enqueueRows(stack.context, account, batchId, manifestRows(await manifest('late', 1), ctpayer as never), { addJobs: false });
      await stack.context.batches.markEnqueued(batchId);
      return batchId;
    };
    const a = await recorded('late-a');
    await ledger.finalize({ batchId: a, paymentId: 'late-0' }, { status: 'failed', code: 'REFUSED', message: 'refused; nothing moved', refused: true });
    const b = await recorded('late-b');
    await ledger.finalize({ batchId: b, paymentId: 'late-0' }, { status: 'paid', reference: 'T-late', code: 'SUCCESS', message: 'Card loaded' });
    await stack.context.batches.markSettled(b);
    expect((await archiveOlderThan(stack.context, 0)).find((outcome) => outcome.batchId === b)).toMatchObject({ archived: true, compactHolders: 1 });

    // A is still in Redis (the sweeper has not seen it): retrying it must find B's compact holder.
    const retried = await retryFailed(stack.context, a);
    expect(retried).toMatchObject({ retried: 0, refused: [expect.stringContaining(`batch ${b} now holds this payment`)] });
    expect(await ledger.get({ batchId: a, paymentId: 'late-0' })).toMatchObject({ status: 'failed', round: 0 });
  });

  it('keeps a batch with an unknown payment in Redis until a person settles it', async () => {
    const batchId = await paidBatch('wait', 3);
    const ledger = stack.context.payments(stack.account('ctpayer'));
    // A person's view of one payment, as an unknown answer would leave it.
    await stack.context.redis.hset(stack.context.keys.payment('ctpayer', 'main', batchId, 'wait-1'), 'status', 'unknown');
    const stays = (await archiveOlderThan(stack.context, 0)).find((outcome) => outcome.batchId === batchId);
    expect(stays).toEqual({ batchId, archived: false, reason: 'a person has payments to settle first (1 unknown)' });
    expect((await stack.context.batches.get(batchId)).archiving).toBeUndefined();

    await resolvePayment(stack.context, { batchId, paymentId: 'wait-1' }, { paid: 'REF-1' }, personHere(), 'checked in the portal');
    expect((await ledger.get({ batchId, paymentId: 'wait-1' }))!.status).toBe('paid');
    const archived = (await archiveOlderThan(stack.context, 0)).find((outcome) => outcome.batchId === batchId);
    expect(archived).toMatchObject({ batchId, archived: true, payments: 3 });
    // Its audit entries, the resolution among them, read from the file, in order with the live trail's.
    const trail = await collect(auditEntriesNewestFirst(stack.context, {}));
    expect(trail.filter((entry) => entry.batch_id === batchId).map((entry) => entry.event)).toEqual(['resolved', 'submitted']);
    const ids = trail.map((entry) => entry.id);
    expect(ids).toEqual([...ids].sort((a, b) => compareStreamIds(b, a)));
  });

  it('runs one archive at a time: a second run at once is refused and changes nothing', async () => {
    const batchId = await paidBatch('twice', 2);
    const [first, second] = await Promise.allSettled([archiveOlderThan(stack.context, 0), archiveOlderThan(stack.context, 0)]);
    expect(first).toMatchObject({ status: 'fulfilled', value: expect.arrayContaining([expect.objectContaining({ batchId, archived: true })]) });
    expect(second).toMatchObject({ status: 'rejected', reason: { code: 'ARCHIVE_BUSY' } });
  });

  it('says in one line when the archive folder cannot be written, and the batch stays whole in Redis', async () => {
    const batchId = await paidBatch('blocked', 1);
    const blocked = join(stack.dir, 'not-a-folder');
    await writeFile(blocked, 'a file where the archive folder should be');
    const configFile = join(stack.dir, 'blocked.config.json');
    await writeFile(configFile, JSON.stringify({ ...JSON.parse(await readFile(stack.configFile, 'utf8')), archive: { dir: blocked } }));
    const { code, stderr } = await stipend(['archive', '--older-than', '0', '--config', configFile]);
    expect(code).toBe(2);
    expect(stderr).toBe(`stipend: cannot write the archive under ${blocked} (ENOTDIR): check archive.dir; nothing left Redis\n`);
    const batch = await stack.context.batches.get(batchId);
    expect(batch).toMatchObject({ n_paid: 1 });
    expect(batch.archiving).toBeUndefined();
    expect(batch.archived_at).toBeUndefined();
  });

  it('refuses to read an archive whose files changed, and says so', async () => {
    const batchId = await paidBatch('tamper', 2);
    await archiveOlderThan(stack.context, 0);
    const ledgerFile = join(stack.config.archive.dir, 'ctpayer', 'main', batchId, 'ledger.jsonl.gz');
    const bytes = await readFile(ledgerFile);
    bytes[bytes.length - 5]! ^= 0xff;
    await writeFile(ledgerFile, bytes);
    // Another process (this one keeps what it read, checked, in memory). Its record is in the index: status still answers.
    const reader = await openContext(stack.config);
    expect((await reader.batches.get(batchId)).n_paid).toBe(2);
    await expect(writeReconciliation(reader, batchId, join(stack.dir, 'tampered'))).rejects.toMatchObject({ code: 'ARCHIVE_DAMAGED', message: expect.stringContaining('does not match its SHA-256') });
    await reader.close();
  });
});

async function collect<T>(entries: AsyncIterable<T>): Promise<T[]> {
  const all: T[] = [];
  for await (const entry of entries) all.push(entry);
  return all;
}

describe('archive with rememberPaymentsDays', () => {
  let stack: TestStack;
  // 2.6 seconds.
  const REMEMBER_DAYS = 0.00003;
  beforeAll(async () => {
    stack = await startStack({ providers: ['ctpayer'], account: { rateLimit: { max: 5000, perMs: 1000 }, concurrency: 20 }, rememberPaymentsDays: REMEMBER_DAYS });
    await stack.startWorkers();
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('remembers an archived payment as long as its holder had left to live, then lets it be paid again', async () => {
    const file = await stack.manifest('short.csv', 'payment_id,cardId,amount,description\nshort-1,1000000001,4.00,Visit stipend\n');
    const pay = async () => {
      const submitted = await submitManifest(stack.context, { file, account: stack.account('ctpayer') });
      if (!submitted.accepted) throw new Error('refused');
      await waitForBatch(stack.context, submitted.batchId, { pollMs: 50 });
      await stack.context.batches.markSettled(submitted.batchId);
      return submitted.batchId;
    };
    const first = await pay();
    const balance = ctPayerCardBalance(stack.sandboxes.ctpayer!, '1000000001');
    expect((await archiveOlderThan(stack.context, 0)).find((outcome) => outcome.batchId === first)).toMatchObject({ archived: true, compactHolders: 1 });
    const [entry] = await stack.context.redis.hmget(stack.context.keys.archivedHolders('ctpayer', 'main', 'short-1'), 'short-1');
    expect(entry).toMatch(new RegExp(`^${first} \\d+$`));

    // Within the time: a duplicate, nothing sent.
    const second = await pay();
    const [row] = await firstPage(stack, second);
    expect(row).toMatchObject({ kind: 'duplicate', holderBatchId: first });
    expect(ctPayerCardBalance(stack.sandboxes.ctpayer!, '1000000001')).toBe(balance);

    // Past it (by Redis's clock): this batch holds it, as it would a payment never archived (the
    // sandbox, like CT Payer, then answers the same transaction id with the first load).
    const expiresMs = Number(entry!.split(' ')[1]);
    const [seconds, micros] = await stack.context.redis.time();
    await sleep(Math.max(0, expiresMs - (Number(seconds) * 1000 + Number(micros) / 1000)) + 50);
    // Its bytes are freed by the next archive run.
    expect(await forgetExpiredHolders(stack.context)).toBe(1);
    expect(await stack.context.redis.hexists(stack.context.keys.archivedHolders('ctpayer', 'main', 'short-1'), 'short-1')).toBe(0);
    const third = await pay();
    expect((await firstPage(stack, third))[0]).toMatchObject({ kind: 'payment', paymentId: 'short-1' });
    expect(await stack.context.payments(stack.account('ctpayer')).get({ batchId: third, paymentId: 'short-1' })).toMatchObject({ batch_id: third, status: 'paid' });
  });
});

async function firstPage(stack: TestStack, batchId: string) {
  for await (const page of stack.context.rows.pages(batchId)) return page;
  return [];
}
