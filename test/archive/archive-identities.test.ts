import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { archiveOlderThan, forgetExpiredHolders } from '../../src/archive/archive-old.js';
import { resolveConfig } from '../../src/config/load.js';
import { openContext, type StipendContext } from '../../src/context.js';
import { newBatchId } from '../../src/ledger/batches.js';
import { manifestRows } from '../../src/manifest/index.js';
import { ctpayer } from '../../src/providers/ctpayer.js';
import { enqueueRows } from '../../src/queue/enqueue.js';
import { clusterSeeds } from '../helpers/cluster-seeds.js';
import { startStack, type TestStack } from '../helpers/stack.js';

/**
 * On Redis Cluster a provider with two accounts reserves each payment id in the provider's slot
 * (ledger/claims.ts). Archiving a batch turns its reservations into compact entries, as it does its
 * holders: the id stays taken for the other account, for as long as before, in fewer bytes.
 */

let stack: TestStack;
let context: StipendContext;
beforeAll(async () => {
  stack = await startStack({ providers: ['ctpayer'], cluster: clusterSeeds() });
  const account = { baseUrl: stack.sandboxes.ctpayer!.url, credentials: stack.account('ctpayer').connection().credentials };
  const raw = {
    redis: { prefix: stack.prefix, cluster: { nodes: clusterSeeds() } },
    archive: { dir: join(stack.dir, 'archive') },
    accounts: { ctpayer: { main: account, second: account } },
  };
  const configFile = join(stack.dir, 'two-accounts.json');
  await writeFile(configFile, JSON.stringify(raw));
  context = await openContext(resolveConfig(raw, configFile));
});
afterAll(async () => {
  await context?.close();
  await stack?.close();
});

const accountNamed = (name: string) => context.config.accounts.find((a) => a.name === name)!;
const other = (name: string) => (name === 'main' ? 'second' : 'main');

/** A batch of the account recorded through the ledger (no jobs): its rows, claimed against the other account. */
async function recorded(name: string, ids: string[]): Promise<string> {
  const batchId = newBatchId();
  const text = ['payment_id,cardId,amount,description', ...ids.map((id, i) => `${id},100000000${(i % 9) + 1},2.50,Visit stipend`)].join('\n');
  await context.batches.create({ batchId, provider: 'ctpayer', account: name, source: `${batchId}.csv`, sha256: batchId, rowsTotal: ids.length });
  await enqueueRows(context, accountNamed(name), batchId, manifestRows(await stack.manifest(`${batchId}.csv`, text), ctpayer as never), { addJobs: false, otherAccounts: [other(name)] });
  await context.batches.markEnqueued(batchId);
  return batchId;
}

async function rowsOf(batchId: string) {
  const rows = [];
  for await (const page of context.rows.pages(batchId)) rows.push(...page);
  return rows;
}

it('turns an archived batch\'s identity reservations into compact entries that still keep the ids from the other account', async () => {
  const ids = Array.from({ length: 12 }, (_, i) => `idn-${i}`);
  const paid = await recorded('main', ids);
  for (const paymentId of ids) {
    await context.payments(accountNamed('main')).finalize({ batchId: paid, paymentId }, { status: 'paid', reference: `T-${paymentId}`, code: 'SUCCESS', message: 'Card loaded' });
  }
  await context.batches.markSettled(paid);
  expect(await context.redis.get(context.keys.identity('ctpayer', 'idn-0'))).toBe(`main/${paid}`);

  expect(await archiveOlderThan(context, 0)).toEqual([expect.objectContaining({ batchId: paid, archived: true, payments: 12, compactHolders: 12 })]);

  // No reservation key is left; each id's entry says the same, in its bucket in the provider's slot.
  for (const id of ids) {
    expect(await context.redis.exists(context.keys.identity('ctpayer', id))).toBe(0);
    expect(await context.redis.hget(context.keys.archivedIdentities('ctpayer', id), id)).toBe(`main/${paid}`);
  }
  // The other account finds every id taken by the archived batch; so does the same account.
  expect((await rowsOf(await recorded('second', ids))).map((row) => row.kind === 'duplicate' && row.holderBatchId)).toEqual(Array(12).fill(paid));
  expect((await rowsOf(await recorded('main', ids))).map((row) => row.kind === 'duplicate' && row.holderBatchId)).toEqual(Array(12).fill(paid));
});

it('lets the other account take an id whose compact reservation expired, and frees its bytes', async () => {
  // What an archive leaves of a reservation whose time (rememberPaymentsDays + 90 days) has passed.
  const bucket = context.keys.archivedIdentities('ctpayer', 'idx-1');
  const [seconds] = await context.redis.time();
  await context.redis.hset(bucket, 'idx-1', `main/20200101-000000-000000 ${Number(seconds) * 1000 - 1000}`);

  expect(await forgetExpiredHolders(context)).toBe(1);
  expect(await context.redis.hexists(bucket, 'idx-1')).toBe(0);
  // Expired but not yet forgotten holds nothing either.
  await context.redis.hset(bucket, 'idx-2', `main/20200101-000000-000000 ${Number(seconds) * 1000 - 1000}`);
  const batchId = await recorded('second', ['idx-1', 'idx-2']);
  expect((await rowsOf(batchId)).map((row) => row.kind)).toEqual(['payment', 'payment']);
  expect(await context.redis.get(context.keys.identity('ctpayer', 'idx-2'))).toBe(`second/${batchId}`);
});
