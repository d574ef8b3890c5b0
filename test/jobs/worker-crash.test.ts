import { afterAll, beforeAll, expect, it } from 'vitest';
import { submitManifest } from '../../src/batches/submit.js';
import { waitForBatch } from '../../src/batches/wait.js';
import { startStack, type TestStack } from '../helpers/stack.js';
import { spawnWorker } from '../helpers/worker-process.js';

/**
 * A worker killed with SIGKILL while its payments wait for the account's rate limit: another worker
 * takes them up and pays them, once each. Only a payment whose call was really under way when the
 * process died may end `unknown` (VirtualRx can neither be asked nor safely resent).
 */

let stack: TestStack;
beforeAll(async () => {
  stack = await startStack({
    providers: ['virtualrx'],
    account: { rateLimit: { max: 2, perMs: 1000, marginMs: 0 }, concurrency: 6 },
    workers: { lockDurationMs: 2000 },
  });
});
afterAll(() => stack?.close());

it('pays the payments a killed worker held, and leaves unknown only a call it cut off', async () => {
  const rows = Array.from({ length: 8 }, (_, i) => `k-${i},20230226${String(i + 1).padStart(3, '0')},7311,CLM-${i},GRP-1,${100 + i}`);
  const file = await stack.manifest('crash.csv', ['payment_id,CustId,ProgramId,ClaimReferenceNumber,ClientGroupID,amount_cents', ...rows].join('\n'));
  const first = await spawnWorker(stack.configFile);
  const submitted = await submitManifest(stack.context, { file, account: stack.account('virtualrx') });
  if (!submitted.accepted) throw new Error('manifest rejected');
  const ledger = stack.context.payments(stack.account('virtualrx'));

  // Let a couple of payments through, then kill the worker while the rest wait for the rate limit.
  while ((await stack.context.batches.get(submitted.batchId)).n_paid < 2) await new Promise((resolve) => setTimeout(resolve, 20));
  first.child.kill('SIGKILL');
  await first.stop();
  const waiting = [];
  for (let i = 0; i < 8; i++) if ((await ledger.get({ batchId: submitted.batchId, paymentId: `k-${i}` }))?.status === 'queued') waiting.push(`k-${i}`);
  expect(waiting.length).toBeGreaterThanOrEqual(3);

  const second = await spawnWorker(stack.configFile);
  try {
    const batch = await waitForBatch(stack.context, submitted.batchId, { pollMs: 100 });
    expect(batch.final).toBe(8);
  } finally {
    await second.stop();
  }
  const records = await Promise.all(Array.from({ length: 8 }, (_, i) => ledger.get({ batchId: submitted.batchId, paymentId: `k-${i}` })));
  const applied = stack.sandboxes.virtualrx!.transactions().map((t) => `${t.payee}:${t.amountCents}`);
  const row = (r: (typeof records)[number]) => `${r!.payee}:${r!.amount_cents}`;
  const paid = records.filter((r) => r!.status === 'paid').map(row);
  const unknown = records.filter((r) => r!.status === 'unknown');
  // Nothing applied twice; every paid row is one applied payment; what else was applied is a row
  // left unknown (its call was cut off after VirtualRx applied it).
  expect(new Set(applied).size).toBe(applied.length);
  expect(paid.every((p) => applied.includes(p))).toBe(true);
  expect(applied.filter((a) => !paid.includes(a)).every((a) => unknown.map(row).includes(a))).toBe(true);
  // The payments that were waiting for the rate limit when the worker died were paid, not doubted.
  for (const id of waiting) expect(records.find((r) => r!.payment_id === id)?.status).toBe('paid');
  // At most the one call under way at the kill can be unknown, and only as an interrupted call.
  expect(unknown.length).toBeLessThanOrEqual(1);
  for (const record of unknown) expect(record!.code).toBe('INTERRUPTED');
});
