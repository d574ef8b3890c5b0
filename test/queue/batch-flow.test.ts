import { readFile } from 'node:fs/promises';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { submitManifest } from '../../src/batches/submit.js';
import { waitForBatch } from '../../src/batches/wait.js';
import { PaymentLedger } from '../../src/ledger/payments.js';
import { PAYMENT_JOB, bullPrefix, paymentJobId, queueName } from '../../src/queue/payment-job.js';
import { writeReconciliation } from '../../src/reports/reconciliation.js';
import { parseReport, startStack, type TestStack } from '../helpers/stack.js';

/** Manifest → validation → queue → workers → sandboxes over HTTP → ledger → report. */

let stack: TestStack;

beforeAll(async () => {
  stack = await startStack({ providers: ['ctpayer', 'virtualrx'] });
  await stack.startWorkers();
});
afterAll(() => stack?.close());
beforeEach(() => {
  for (const sandbox of Object.values(stack.sandboxes)) sandbox.reset();
});

async function pay(provider: string, csv: string, options: { allowPartial?: boolean } = {}) {
  const file = await stack.manifest(`${provider}-${Math.random().toString(36).slice(2)}.csv`, csv);
  const result = await submitManifest(stack.context, { file, account: stack.account(provider), ...options });
  if (!result.accepted) throw new Error(`manifest rejected: ${JSON.stringify(result.scan)}`);
  const batch = await waitForBatch(stack.context, result.batchId, { pollMs: 50 });
  const report = await writeReconciliation(stack.context, result.batchId, stack.dir);
  const rows = parseReport(await readFile(report.csv, 'utf8'));
  return { batchId: result.batchId, batch, rows, summary: report.summary, byId: new Map(rows.map((r) => [r.payment_id, r])) };
}

const unique = () => Math.random().toString(36).slice(2, 8);

describe('CT Payer batch', () => {
  it('pays every row once; the sandbox applied exactly the report\'s paid rows, cent for cent', async () => {
    const u = unique();
    const { rows, summary, byId } = await pay('ctpayer', [
      'payment_id,cardId,amount,description,groupId',
      `${u}-1,1000000001,25.00,Visit 1 stipend,STUDY-A`,
      `${u}-2,1000000002,12.5,Visit 1 stipend,STUDY-A`,
      `${u}-3,1000000003,0.01,"Parking, visit 1",`,
      `${u}-4,1000000022,30.00,Visit 1 stipend,STUDY-A`,
      `${u}-5,1000000005,150.00,Mileage reimbursement,STUDY-A`,
    ].join('\n'));

    expect(rows.map((r) => [r.payment_id, r.status])).toEqual([
      [`${u}-1`, 'paid'], [`${u}-2`, 'paid'], [`${u}-3`, 'paid'], [`${u}-4`, 'declined'], [`${u}-5`, 'paid'],
    ]);
    expect(byId.get(`${u}-4`)).toMatchObject({ provider_code: 'CARD_NOT_ACTIVE', amount_cents: '3000' });

    const applied = stack.sandboxes.ctpayer!.transactions().filter((t) => t.kind === 'load');
    const paid = rows.filter((r) => r.status === 'paid');
    expect(applied.map((t) => [t.key, t.payee, t.amountCents, t.id]).sort()).toEqual(
      paid.map((r) => [r.payment_id, r.payee, Number(r.amount_cents), r.provider_reference]).sort(),
    );
    expect(summary.requested).toEqual({ count: 5, cents: 21751, amount: '217.51' });
    expect(summary.paid).toEqual({ count: 4, cents: 18751, amount: '187.51' });
    expect(summary.statuses.declined).toEqual({ count: 1, cents: 3000 });
    expect(summary.complete).toBe(true);
  });

  it('resends a load whose answer was lost with the same internalPaymentId, and pays it once', async () => {
    const u = unique();
    stack.sandboxes.ctpayer!.setFaults([{ kind: 'drop-after', times: 1, match: { cardId: '1000000006' } }]);
    const { byId } = await pay('ctpayer', `payment_id,cardId,amount,description\n${u}-1,1000000006,40.00,Visit 2 stipend\n`);

    const applied = stack.sandboxes.ctpayer!.transactions().filter((t) => t.key === `${u}-1`);
    expect(applied).toHaveLength(1);
    expect(byId.get(`${u}-1`)).toMatchObject({ status: 'paid', provider_reference: applied[0]!.id, provider_code: 'DUPLICATE_PAYMENT', attempts: '2' });
  });

  it('waits out 429/503 answers without using up attempts', async () => {
    const u = unique();
    stack.sandboxes.ctpayer!.setFaults([{ kind: 'throttle', times: 4, retryAfterSeconds: 1, match: { cardId: '1000000007' } }]);
    const { byId } = await pay('ctpayer', `payment_id,cardId,amount,description\n${u}-1,1000000007,10.00,Visit 3 stipend\n`);
    // The account allows 3 attempts; 4 throttled answers still end in a payment, and are not
    // counted as attempts: they could not have applied.
    expect(byId.get(`${u}-1`)).toMatchObject({ status: 'paid', attempts: '1' });
    expect(stack.sandboxes.ctpayer!.transactions().filter((t) => t.key === `${u}-1`)).toHaveLength(1);
  });

  it('does not pay a payment again when a second manifest repeats it', async () => {
    const u = unique();
    const csv = `payment_id,cardId,amount,description\n${u}-1,1000000008,20.00,Visit 4 stipend\n`;
    const first = await pay('ctpayer', csv);
    const second = await pay('ctpayer', csv);
    expect(first.byId.get(`${u}-1`)?.status).toBe('paid');
    expect(second.byId.get(`${u}-1`)).toMatchObject({ status: 'skipped_duplicate', provider_reference: first.byId.get(`${u}-1`)!.provider_reference });
    expect(second.byId.get(`${u}-1`)!.message).toContain(first.batchId);
    expect(stack.sandboxes.ctpayer!.transactions().filter((t) => t.key === `${u}-1`)).toHaveLength(1);
  });

  it('with --allow-partial pays the valid rows and reports the rejected ones', async () => {
    const u = unique();
    const { rows } = await pay('ctpayer', [
      'payment_id,cardId,amount,description',
      `${u}-1,1000000009,10.00,Visit 5 stipend`,
      `${u}-2,123,10.00,Visit 5 stipend`,
      `${u}-3,1000000010,12.505,Visit 5 stipend`,
      `${u}-4,1000000011,10.00,This description is far too long for CT Payer`,
    ].join('\n'), { allowPartial: true });
    expect(rows.map((r) => [r.line, r.status])).toEqual([['2', 'paid'], ['3', 'rejected'], ['4', 'rejected'], ['5', 'rejected']]);
    expect(rows[1]!.message).toMatch(/line 3, column cardId/);
    expect(rows[3]!.message).toMatch(/line 5, column description: .*30/);
    expect(stack.sandboxes.ctpayer!.transactions()).toHaveLength(1);
  });

  it('rejects a manifest with a bad row: nothing is recorded, queued or sent', async () => {
    const before = await stack.context.redis.zcard(stack.context.keys.batches());
    const file = await stack.manifest('bad.csv', 'cardId,amount,description\n1000000012,10.00,ok\n1000000013,-5,bad amount\n');
    const result = await submitManifest(stack.context, { file, account: stack.account('ctpayer') });
    expect(result.accepted).toBe(false);
    expect(await stack.context.redis.zcard(stack.context.keys.batches())).toBe(before);
    expect(stack.sandboxes.ctpayer!.requests()).toHaveLength(0);
  });
});

describe('VirtualRx batch', () => {
  it('pays, declines, retries and gives up, each with the right final status', async () => {
    const u = unique();
    stack.sandboxes.virtualrx!.setFaults([
      { kind: 'retryable', times: 2, match: { CustId: '20230226002' } },
      { kind: 'retryable', match: { CustId: '20230226003' } },
    ]);
    const { byId, summary } = await pay('virtualrx', [
      'payment_id,CustId,ProgramId,ClaimReferenceNumber,ClientGroupID,amount_cents',
      `${u}-1,20230226001,7311,CLM-1,GRP-1,2500`,
      `${u}-2,20230226002,7311,CLM-2,GRP-1,1250`,
      `${u}-3,20230226003,7311,CLM-3,GRP-1,1000`,
      `${u}-4,20230226021,7311,CLM-4,GRP-1,1000`,
      `${u}-5,20230226004,7311,CLM-5,GRP-1,50001`,
    ].join('\n'));
    expect(byId.get(`${u}-1`)).toMatchObject({ status: 'paid', attempts: '1' });
    // Retry-later answers applied nothing: only calls that could have applied count as attempts.
    expect(byId.get(`${u}-2`)).toMatchObject({ status: 'paid', attempts: '1' });
    expect(byId.get(`${u}-3`)).toMatchObject({ status: 'failed', provider_code: '80000', attempts: '0' });
    expect(byId.get(`${u}-4`)).toMatchObject({ status: 'declined', provider_code: '70025' });
    expect(byId.get(`${u}-5`)).toMatchObject({ status: 'declined' });

    const applied = stack.sandboxes.virtualrx!.transactions().filter((t) => t.kind === 'load');
    expect(applied.map((t) => [t.payee, t.amountCents]).sort()).toEqual([['20230226001', 2500], ['20230226002', 1250]]);
    expect(summary.paid).toEqual({ count: 2, cents: 3750, amount: '37.50' });
  });

  it('never resends a payment whose answer was lost: it ends unknown for a person to settle', async () => {
    const u = unique();
    stack.sandboxes.virtualrx!.setFaults([
      { kind: 'drop-after', times: 1, match: { CustId: '20230226005' } },
      { kind: 'drop-before', times: 1, match: { CustId: '20230226006' } },
    ]);
    const { byId } = await pay('virtualrx', [
      'payment_id,CustId,ProgramId,ClaimReferenceNumber,ClientGroupID,amount_cents',
      `${u}-1,20230226005,7311,CLM-6,GRP-1,700`,
      `${u}-2,20230226006,7311,CLM-7,GRP-1,800`,
    ].join('\n'));
    expect(byId.get(`${u}-1`)).toMatchObject({ status: 'unknown', attempts: '1' });
    expect(byId.get(`${u}-2`)).toMatchObject({ status: 'unknown', attempts: '1' });
    const requests = stack.sandboxes.virtualrx!.requests().filter((r) => r.path === '/jsonapi.php');
    expect(requests).toHaveLength(2);
    // The lost answer hid a real payment (drop-after); the other was never applied (drop-before).
    expect(stack.sandboxes.virtualrx!.transactions().map((t) => [t.payee, t.amountCents])).toEqual([['20230226005', 700]]);
  });
});

describe('a payment found `sending` (its worker died mid-call)', () => {
  async function rerun(provider: string, paymentId: string, fields: Record<string, string>) {
    const account = stack.account(provider);
    const ledger = new PaymentLedger(stack.context.redis, stack.context.keys, account.provider, account.name, stack.context.archive);
    await ledger.claim('crashed-batch', [{ line: 2, paymentId, payee: 'x', amountCents: 100, fields }]);
    const ref = { batchId: 'crashed-batch', paymentId };
    expect((await ledger.beginFreshSending(ref)).permission).toBe('ready');
    // The worker "died" here, a while ago (longer than any call can take, by Redis's clock). BullMQ hands the job on:
    const [seconds] = await stack.context.redis.time();
    await stack.context.redis.hset(ledger.key(ref), 'sending_ms', Number(seconds) * 1000 - 60_000);
    const queue = new Queue(queueName(account), { connection: stack.context.redis, prefix: bullPrefix(stack.prefix, account) });
    await queue.add(PAYMENT_JOB, { batchId: 'crashed-batch', paymentId, amountCents: 100, fields }, { jobId: paymentJobId('crashed-batch', paymentId) });
    await queue.close();
    for (;;) {
      const record = await ledger.get(ref);
      if (record && ['paid', 'declined', 'failed', 'unknown'].includes(record.status)) return record;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  it('is marked unknown without another call where the provider has no idempotency key', async () => {
    const record = await rerun('virtualrx', `${unique()}-v`, { CustId: '20230226007', ProgramId: '7311', ClaimReferenceNumber: 'CLM-8', ClientGroupID: 'GRP-1' });
    expect(record).toMatchObject({ status: 'unknown', code: 'INTERRUPTED', may_have_applied: '1' });
    expect(stack.sandboxes.virtualrx!.requests()).toHaveLength(0);
  });

  it('is resent with the same idempotency key where the provider has one, and paid once', async () => {
    const paymentId = `${unique()}-c`;
    const record = await rerun('ctpayer', paymentId, { cardId: '1000000012', description: 'Visit 6 stipend' });
    expect(record).toMatchObject({ status: 'paid', attempts: 2 });
    expect(stack.sandboxes.ctpayer!.transactions().filter((t) => t.key === paymentId)).toHaveLength(1);
  });
});

describe('secrets', () => {
  it('never stores credentials in Redis (job data, ledger, limiter)', async () => {
    const u = unique();
    await pay('ctpayer', `payment_id,cardId,amount,description\n${u}-1,1000000014,10.00,Visit 7 stipend\n`);
    await pay('virtualrx', `payment_id,CustId,ProgramId,ClaimReferenceNumber,ClientGroupID,amount_cents\n${u}-2,20230226008,7311,CLM-9,GRP-1,100\n`);
    const { redis } = stack.context;
    const keys = await redis.keys(`${stack.prefix}:*`);
    expect(keys.length).toBeGreaterThan(10);
    const types = new Set<string>();
    for (const key of keys) {
      const type = await redis.type(key);
      types.add(type);
      const values = await readValues(key, type);
      expect(values, key).not.toMatch(/sandbox-password|sandbox-token/);
    }
    // Job data (hashes), batch rows (lists), events (streams) and indexes (sorted sets) were all read.
    expect([...types].sort()).toEqual(expect.arrayContaining(['hash', 'list', 'stream', 'zset']));
  });
});

/** Every value stored under a key, as text, whatever the key's type. */
async function readValues(key: string, type: string): Promise<string> {
  const { redis } = stack.context;
  switch (type) {
    case 'string': return (await redis.get(key)) ?? '';
    case 'hash': return JSON.stringify(await redis.hgetall(key));
    case 'list': return JSON.stringify(await redis.lrange(key, 0, -1));
    case 'set': return JSON.stringify(await redis.smembers(key));
    case 'zset': return JSON.stringify(await redis.zrange(key, '0', '-1'));
    case 'stream': return JSON.stringify(await redis.xrange(key, '-', '+'));
    // Expired since it was listed (the rate limit's keys live for milliseconds): it holds nothing.
    case 'none': return '';
    default: throw new Error(`unexpected key type ${type} at ${key}`);
  }
}

describe('a payment whose earlier run may still be calling (its lock lapsed, its process lives)', () => {
  it('waits until that call must have ended before deciding, and then settles it', async () => {
    const account = stack.account('virtualrx');
    const ledger = stack.context.payments(account);
    const ref = { batchId: 'stale-lock', paymentId: `${unique()}-s` };
    const fields = { CustId: '20230226009', ProgramId: '7311', ClaimReferenceNumber: 'CLM-S', ClientGroupID: 'GRP-1' };
    await ledger.claim(ref.batchId, [{ line: 2, paymentId: ref.paymentId, payee: 'x', amountCents: 100, fields }]);
    await ledger.beginFreshSending(ref); // just now: the call could still be under way
    const queue = new Queue(queueName(account), { connection: stack.context.redis, prefix: bullPrefix(stack.prefix, account) });
    await queue.add(PAYMENT_JOB, { ...ref, amountCents: 100, fields }, { jobId: paymentJobId(ref.batchId, ref.paymentId) });
    await queue.close();

    // The account's calls time out after 3 s: for a while the job waits, and decides nothing.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect((await ledger.get(ref))?.status).toBe('sending');
    for (let i = 0; (await ledger.get(ref))?.status === 'sending'; i++) {
      if (i > 200) throw new Error('never settled');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(await ledger.get(ref)).toMatchObject({ status: 'unknown', code: 'INTERRUPTED' });
    expect(stack.sandboxes.virtualrx!.requests()).toHaveLength(0);
  });
});
