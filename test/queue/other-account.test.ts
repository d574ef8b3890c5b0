import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startWorkers } from '../../jobs/workers.js';
import { submitManifest } from '../../src/batches/submit.js';
import { waitForBatch } from '../../src/batches/wait.js';
import { resolveConfig } from '../../src/config/load.js';
import { openContext, type StipendContext } from '../../src/context.js';
import { claimPayments } from '../../src/ledger/claims.js';
import { deleteKeys } from '../../src/queue/cleanup.js';
import { connectRedis, type RedisClient } from '../../src/redis/connection.js';
import { RedisKeys } from '../../src/redis/keys.js';
import { createLogger } from '../../src/log.js';
import { type RunningSandbox, startSandbox } from '../../src/sandbox/index.js';
import type { RunningWorkers } from '../../src/worker-side.js';
import { clusterSeeds } from '../helpers/cluster-seeds.js';
import { startStack, type TestStack } from '../helpers/stack.js';
import { stipend } from '../helpers/stipend-process.js';

/**
 * Path 10 of "never twice, never lost": one provider, two accounts (`main` and `second`). The same
 * manifest, or the same payment_id, through the other account is refused unless the operator allows
 * it for that run; a refused manifest pays nothing and changes nothing.
 */

let stack: TestStack;
// The second account is another CT Payer account: a sandbox of its own.
let secondSandbox: RunningSandbox;
let context: StipendContext;
let workers: RunningWorkers;
let configFile: string;
beforeAll(async () => {
  stack = await startStack({ providers: ['ctpayer'] });
  secondSandbox = await startSandbox('ctpayer', { port: 0 });
  const account = (baseUrl: string) => ({ baseUrl, credentials: stack.account('ctpayer').connection().credentials, rateLimit: { max: 1000, perMs: 1000 }, retry: { attempts: 3, backoffMs: 50 } });
  const raw = { redis: { prefix: stack.prefix }, accounts: { ctpayer: { main: account(stack.sandboxes.ctpayer!.url), second: account(secondSandbox.url) } } };
  configFile = join(stack.dir, 'two-accounts.json');
  await writeFile(configFile, JSON.stringify(raw));
  context = await openContext(resolveConfig(raw, configFile));
  workers = await startWorkers(context, context.config.accounts, createLogger({ level: 'silent' }));
});
afterAll(async () => {
  await workers?.close();
  await context?.close();
  await secondSandbox?.close();
  await stack?.close();
});

const account = (name: string) => context.config.accounts.find((a) => a.name === name)!;
const csv = (rows: [string, string, string][]) => ['payment_id,cardId,amount,description', ...rows.map((r) => `${r.join(',')},Visit stipend`)].join('\n');
/** Loads applied, by either account's provider. */
const applied = (prefix: string) =>
  [...stack.sandboxes.ctpayer!.transactions(), ...secondSandbox.transactions()].filter((t) => t.kind === 'load' && t.key?.startsWith(prefix));

async function pay(name: string, text: string, through: string, options: { allowOtherAccount?: boolean } = {}) {
  const result = await submitManifest(context, { file: await stack.manifest(name, text), account: account(through), ...options });
  if (!result.accepted) throw new Error('refused');
  return waitForBatch(context, result.batchId, { pollMs: 50 });
}

/** Everything the ledger holds, to show that a refusal changed nothing. */
async function ledgerKeys(): Promise<string[]> {
  return (await context.redis.keys(`${stack.prefix}:*`)).filter((key) => !key.includes(':bull:') && !key.includes(':gate:') && !key.endsWith(':session')).sort();
}

it('refuses the same manifest (by SHA-256) through the other account, naming that account and batch; nothing changes', async () => {
  const text = csv([['oa-1', '1000000001', '5.00'], ['oa-2', '1000000002', '7.25']]);
  const first = await pay('visits.csv', text, 'main');
  expect(first).toMatchObject({ n_paid: 2 });

  const before = await ledgerKeys();
  const again = submitManifest(context, { file: await stack.manifest('visits-copy.csv', text), account: account('second') });
  await expect(again).rejects.toMatchObject({ code: 'OTHER_ACCOUNT_DUPLICATE', message: expect.stringContaining(`ctpayer account main as batch ${first.batch_id}`) });
  expect(await ledgerKeys()).toEqual(before);
  expect(applied('oa-')).toHaveLength(2);
});

it('refuses a manifest with a payment_id another account of the provider holds, naming the payment, account and batch; nothing changes', async () => {
  const first = await pay('b.csv', csv([['ob-1', '1000000003', '3.00'], ['ob-2', '1000000004', '4.00']]), 'main');
  const before = await ledgerKeys();
  const other = submitManifest(context, { file: await stack.manifest('c.csv', csv([['ob-9', '1000000005', '9.00'], ['ob-2', '1000000006', '4.00']])), account: account('second') });
  await expect(other).rejects.toMatchObject({ code: 'OTHER_ACCOUNT_DUPLICATE', message: expect.stringContaining(`payment ob-2 is already held by ctpayer account main, batch ${first.batch_id}`) });
  expect(await ledgerKeys()).toEqual(before);
  expect(applied('ob-').map((t) => t.key).sort()).toEqual(['ob-1', 'ob-2']);
});

it('pays through the other account when the operator allows it for the run (stipend run --allow-other-account)', async () => {
  const text = csv([['oc-1', '1000000007', '2.00'], ['oc-2', '1000000008', '6.00']]);
  await pay('d.csv', text, 'main');
  const copy = await stack.manifest('d-copy.csv', text);
  const run = (...flags: string[]) => stipend(['--config', configFile, 'run', copy, '--provider', 'ctpayer', '--account', 'second', '--out', join(stack.dir, 'out'), ...flags]);
  const refused = await run();
  expect(refused.code).toBe(2);
  expect(refused.stderr.trim().split('\n')).toEqual([expect.stringMatching(/already submitted to ctpayer account main as batch .*run it again with --allow-other-account$/)]);
  const allowed = await run('--allow-other-account');
  expect(allowed.code).toBe(0);
  const batchId = /batch (\S+):/.exec(allowed.stdout)![1]!;
  expect(await context.batches.get(batchId)).toMatchObject({ account: 'second', accepted: 2, duplicates: 0, n_paid: 2, c_paid: 800 });
  const loads = (sandbox: RunningSandbox) => sandbox.transactions().filter((t) => t.kind === 'load' && t.key?.startsWith('oc-')).map((t) => [t.key, t.payee, t.amountCents]).sort();
  const both = [['oc-1', '1000000007', 200], ['oc-2', '1000000008', 600]];
  expect(loads(stack.sandboxes.ctpayer!)).toEqual(both);
  expect(loads(secondSandbox)).toEqual(both);
});


it('claims atomically against the other accounts\' holders: a payment one account holds is not claimed through another', async () => {
  await expectOneHolderEach(context.redis, context.keys);
});

it('on Redis Cluster, where the accounts are in other slots, reserves each payment for one account first: one holder each all the same', async () => {
  const redis = connectRedis({ redisUrl: '', redisCluster: clusterSeeds() });
  const keys = new RedisKeys(`t-${randomBytes(4).toString('hex')}`);
  try {
    await expectOneHolderEach(redis, keys);
    // The reservations are in the provider's slot, the claims in each account's own.
    expect(await redis.get(keys.identity('ctpayer', 'od-1'))).toBe('main/b-main');
  } finally {
    await deleteKeys(redis, keys.prefix);
    await redis.quit();
  }
});

async function expectOneHolderEach(redis: RedisClient, keys: RedisKeys): Promise<void> {
  const payment = (paymentId: string) => ({ line: 2, paymentId, payee: '1000000001', amountCents: 100, fields: { cardId: '1000000001', description: 'Visit' } });
  expect(await claimPayments(redis, keys, { provider: 'ctpayer', account: 'main' }, 'b-main', [payment('od-1')], ['second'])).toEqual([undefined]);
  // Both accounts claiming at once: each payment ends held by exactly one of them.
  const [second, main] = await Promise.all([
    claimPayments(redis, keys, { provider: 'ctpayer', account: 'second' }, 'b-second', [payment('od-1'), payment('od-2'), payment('od-3')], ['main']),
    claimPayments(redis, keys, { provider: 'ctpayer', account: 'main' }, 'b-main', [payment('od-3'), payment('od-4')], ['second']),
  ]);
  expect(second[0]).toBe('b-main');
  expect(second[1]).toBeUndefined();
  expect([second[2], main[0]].filter((holder) => holder === undefined)).toHaveLength(1);
  expect(main[1]).toBeUndefined();
}
