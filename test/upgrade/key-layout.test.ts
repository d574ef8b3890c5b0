import { Queue } from 'bullmq';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { auditEntries } from '../../src/audit/audit-trail.js';
import { submitManifest } from '../../src/batches/submit.js';
import { waitForBatch } from '../../src/batches/wait.js';
import { listSchedules, SCHEDULED_RUN_JOB, SCHEDULES_QUEUE } from '../../src/ingest/schedules.js';
import { encodeBatchRow } from '../../src/ledger/batch-rows.js';
import { writeReconciliation } from '../../src/reports/reconciliation.js';
import { parseReport, startStack, type TestStack } from '../helpers/stack.js';
import { stipend } from '../helpers/stipend-process.js';
import { readFile } from 'node:fs/promises';

/**
 * `stipend upgrade-keys`: a ledger as a version before the hash-tagged key layout wrote it (one
 * Redis, keys named `<prefix>:batch:<id>`, `<prefix>:pay:<provider>:<account>:<batch>:<payment>`,
 * one audit stream, BullMQ under `<prefix>:bull`) is renamed, and then reads, reports and holds its
 * payments against a second payment as before.
 */

let stack: TestStack;
beforeAll(async () => {
  stack = await startStack({ providers: ['ctpayer'], account: { rateLimit: { max: 5000, perMs: 1000 }, concurrency: 10 } });
});
afterAll(async () => {
  await stack?.close();
});

const BATCH = '20261101-090000-abc123';

/** What the earlier version left of one settled batch of two paid payments, a console person and a schedule. */
async function writeOldLayout(P: string): Promise<void> {
  const { redis } = stack.context;
  const created = Date.parse('2026-11-01T09:00:00Z');
  await redis.zadd(`${P}:batches`, created, BATCH);
  await redis.hset(`${P}:batch:${BATCH}`, {
    batch_id: BATCH, provider: 'ctpayer', account: 'main', source: 'old.csv', sha256: 'a'.repeat(64), created_at: '2026-11-01T09:00:00.000Z',
    state: 'enqueued', rows_total: 2, accepted: 2, accepted_cents: 750, final: 2, n_paid: 2, c_paid: 750, enqueued_line: 3, submitted_by: 'alice@ops-1',
  });
  await redis.rpush(`${P}:batch:${BATCH}:rows`, encodeBatchRow({ kind: 'payment', line: 2, paymentId: 'old-1' }), encodeBatchRow({ kind: 'payment', line: 3, paymentId: 'old-2' }));
  for (const [id, cents, line] of [['old-1', 500, 2], ['old-2', 250, 3]] as const) {
    await redis.hset(`${P}:pay:ctpayer:main:${BATCH}:${id}`, {
      batch_id: BATCH, line, provider: 'ctpayer', account: 'main', payment_id: id, payee: 'Pat Doe', amount_cents: cents, status: 'paid', attempts: 1,
      submitted_at: '2026-11-01T09:00:00.000Z', settled_at: '2026-11-01T09:00:01.000Z', reference: `T-${id}`, code: 'SUCCESS', 'f.cardId': '1000000001', 'f.description': 'Visit stipend',
    });
    await redis.set(`${P}:holder:ctpayer:main:${id}`, BATCH);
  }
  await redis.pexpire(`${P}:holder:ctpayer:main:old-2`, 86_400_000);
  await redis.set(`${P}:batch-of-file:ctpayer:main:${'a'.repeat(64)}`, BATCH);
  await redis.xadd(`${P}:audit`, `${created}-0`, 'event', 'submitted', 'identity', 'alice@ops-1', 'host', 'ops-1', 'batch_id', BATCH, 'details', 'old.csv: 2 rows');
  await redis.xadd(`${P}:audit`, `${created + 1}-0`, 'event', 'person_added', 'identity', 'console:root', 'host', 'ops-1', 'batch_id', '', 'details', 'ann as approver');
  await redis.sadd(`${P}:people`, 'ann');
  await redis.hset(`${P}:person:ann`, { role: 'approver', password: 'scrypt$stand-in' });
  await redis.hset(`${P}:console:session:s1`, { name: 'ann' });
  const schedules = new Queue(SCHEDULES_QUEUE, { connection: redis, prefix: `${P}:bull` });
  await schedules.upsertJobScheduler('nightly', { pattern: '0 2 * * *' }, { name: SCHEDULED_RUN_JOB, data: { dir: '/srv/drop', provider: 'ctpayer', account: 'main' } });
  await schedules.close();
}

it('refuses while an old queue holds a job, then renames the ledger and everything reads it as before', { timeout: 60_000 }, async () => {
  const P = stack.prefix;
  await writeOldLayout(P);
  const oldQueue = new Queue('pay.ctpayer.main', { connection: stack.context.redis, prefix: `${P}:bull` });
  await oldQueue.add('pay', { batchId: BATCH, paymentId: 'old-3' });
  const refused = await stipend(['upgrade-keys', '--config', stack.configFile]);
  expect(refused).toMatchObject({ code: 2, stderr: 'stipend: queue pay.ctpayer.main still holds 1 jobs: let the workers of the earlier version finish them (stipend status), stop them, then run upgrade-keys; nothing was renamed\n' });
  expect(await stack.context.redis.exists(`${P}:batch:${BATCH}`)).toBe(1);
  await oldQueue.obliterate({ force: true });
  await oldQueue.close();

  const upgraded = await stipend(['upgrade-keys', '--config', stack.configFile]);
  expect(upgraded).toMatchObject({ code: 0, stdout: 'upgraded: 1 batches, 2 payments, 2 holders, 2 audit entries, 1 schedules\n' });
  // Run again, it finds nothing left to rename.
  expect(await stipend(['upgrade-keys', '--config', stack.configFile])).toMatchObject({ code: 0, stdout: 'upgraded: 0 batches, 0 payments, 0 holders, 0 audit entries, 0 schedules\n' });

  const { context } = stack;
  expect(await context.batches.get(BATCH)).toMatchObject({ n_paid: 2, c_paid: 750, state: 'enqueued' });
  const report = parseReport(await readFile((await writeReconciliation(context, BATCH, stack.dir)).csv, 'utf8'));
  expect(report.map((row) => [row.payment_id, row.status, row.amount_cents, row.provider_reference])).toEqual([['old-1', 'paid', '500', 'T-old-1'], ['old-2', 'paid', '250', 'T-old-2']]);
  const trail = [];
  for await (const entry of auditEntries(context)) trail.push([entry.event, entry.batch_id]);
  expect(trail).toEqual([['submitted', BATCH], ['person_added', '']]);
  expect(await context.redis.pttl(context.keys.holder('ctpayer', 'main', 'old-2'))).toBeGreaterThan(0);
  expect(await listSchedules(context)).toMatchObject([{ name: 'nightly', pattern: '0 2 * * *', run: { dir: '/srv/drop', provider: 'ctpayer', account: 'main' } }]);
  expect(await context.redis.sismember(context.keys.people(), 'ann')).toBe(1);
  expect(await context.redis.hget(context.keys.person('ann'), 'role')).toBe('approver');
  // Nothing under the old names is left.
  const left = (await context.redis.keys(`${P}:*`)).filter((key) => !key.startsWith(`${P}:{`));
  expect(left).toEqual([]);

  // The same payments again: duplicates of the upgraded batch, nothing sent.
  await stack.startWorkers();
  const file = await stack.manifest('again.csv', 'payment_id,cardId,amount,description\nold-1,1000000001,5.00,Visit stipend\nold-2,1000000001,2.50,Visit stipend\n');
  const again = await submitManifest(context, { file, account: stack.account('ctpayer') });
  if (!again.accepted) throw new Error('refused');
  await waitForBatch(context, again.batchId, { pollMs: 50 });
  expect(await context.batches.get(again.batchId)).toMatchObject({ duplicates: 2, accepted: 0 });
});
