import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { submitManifest } from '../../src/batches/submit.js';
import { startStack, type TestStack } from '../helpers/stack.js';
import { stipend } from '../helpers/stipend-process.js';

/** Issue 12 item 16: `stipend run --dry-run` says what run would do, and does none of it. */

let stack: TestStack;
beforeAll(async () => {
  stack = await startStack({ providers: ['ctpayer', 'ptapi'] });
});
afterAll(() => stack?.close());

const CTPAYER = ['payment_id,cardId,amount,description', 'dr-1,1000000001,10.00,Visit stipend', 'dr-2,1000000002,1500.00,Visit stipend', 'dr-3,1000000003,12.50,Visit stipend'].join('\n');
const PTAPI = 'payment_id,cardholderId,customerId,programId,description,amount_cents\ndr-p1,CH0001,C200,PR300,Visit stipend,1500\n';

/** Every key under the stack's prefix with its value (DUMP), to tell that nothing was written. */
async function redisContents(): Promise<Map<string, string>> {
  const contents = new Map<string, string>();
  let cursor = '0';
  do {
    const [next, keys] = await stack.context.redis.scan(cursor, 'MATCH', `${stack.prefix}:*`, 'COUNT', 1000);
    cursor = next;
    for (const key of keys) contents.set(key, (await stack.context.redis.dumpBuffer(key))?.toString('hex') ?? '');
  } while (cursor !== '0');
  return contents;
}

/** No key added or changed (one that expired meanwhile, e.g. a rate-limit entry of an earlier test, may be gone). */
function expectNothingWritten(before: Map<string, string>, after: Map<string, string>) {
  for (const [key, value] of after) expect(before.get(key), key).toBe(value);
}

async function dryRun(file: string, provider: string, configFile = stack.configFile, ...more: string[]) {
  return stipend(['--config', configFile, 'run', file, '--provider', provider, '--dry-run', ...more]);
}

it.each([
  ['ctpayer', CTPAYER, ['/getaccountbalance.php'], /^would pay: 3 payments, \$1,522\.50 in all, in about 1s at ctpayer\/main's rate limit of 20 per 1s$/m],
  ['ptapi', PTAPI, ['/users/login', '/master-funds', '/users/logout'], /^would pay: 1 payment, \$15\.00 in all, in about 1s at ptapi\/main's rate limit of 20 per 1s$/m],
] as const)('%s: a valid manifest is checked and told; Redis gets no key and the provider only the balance read', async (provider, manifest, calls, wouldPay) => {
  const file = await stack.manifest(`dry-${provider}.csv`, manifest);
  stack.sandboxes[provider]!.reset();
  const before = await redisContents();

  const result = await dryRun(file, provider);
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  expect(result.stdout).toMatch(/^this file: not submitted through this account before$/m);
  expect(result.stdout).toMatch(/^duplicates: no payment of it is held by an earlier batch$/m);
  expect(result.stdout).toMatch(/^funding balance: \$50,000\.00, enough for \$/m);
  expect(result.stdout).toMatch(/^approval: not needed$/m);
  expect(result.stdout).toMatch(wouldPay);
  expect(result.stdout).toMatch(/^run would accept it$/m);

  expectNothingWritten(before, await redisContents());
  expect(await stack.context.redis.zcard(stack.context.keys.batches())).toBe(0);
  expect(stack.sandboxes[provider]!.requests().map((r) => r.path)).toEqual(calls);
  expect(stack.sandboxes[provider]!.transactions()).toEqual([]);
});

it('a broken manifest: the problems and exit code 1, as run; nothing asked or written', async () => {
  const file = await stack.manifest('dry-broken.csv', 'payment_id,cardId,amount,description\ndr-b1,1000000001,10.00,Visit stipend\ndr-b2,123,10.00,Visit stipend\n');
  stack.sandboxes.ctpayer!.reset();
  const before = await redisContents();
  const result = await dryRun(file, 'ctpayer');
  expect(result.code).toBe(1);
  expect(result.stdout).toBe('line 3, column cardId: must be exactly 10 digits\nrejected: 2 rows: 1 valid ($10.00), 1 with problems; nothing was queued\n');
  expectNothingWritten(before, await redisContents());
  expect(stack.sandboxes.ctpayer!.requests()).toEqual([]);

  // With --allow-partial it would pay the valid row and leave the other out, and says so.
  const partial = await dryRun(file, 'ctpayer', stack.configFile, '--allow-partial');
  expect(partial.code).toBe(0);
  expect(partial.stdout).toContain('1 row would be left out (--allow-partial):\nline 3, column cardId: must be exactly 10 digits\n');
  expect(partial.stdout).toMatch(/^would pay: 1 payment, \$10\.00 in all/m);
});

it('a batch above the approval threshold: says approval would be needed and why, exit 0', async () => {
  const raw = JSON.parse(await readFile(stack.configFile, 'utf8'));
  raw.accounts.ctpayer.main.approval = { above: '1000.00' };
  const configFile = join(stack.dir, 'approval.json');
  await writeFile(configFile, JSON.stringify(raw));
  const file = await stack.manifest('dry-approval.csv', CTPAYER);
  const before = await redisContents();
  const result = await dryRun(file, 'ctpayer', configFile);
  expect(result.code).toBe(0);
  expect(result.stdout).toMatch(/^approval: needed \(the batch totals \$1,522\.50, above ctpayer\/main's approval threshold of \$1,000\.00\); run would hold the batch until someone other than its submitter runs stipend approve \(exit code 3\)$/m);
  expectNothingWritten(before, await redisContents());
});

it('a file already submitted: names its batch and the payments run would skip', async () => {
  const file = await stack.manifest('dry-again.csv', CTPAYER);
  const submitted = await submitManifest(stack.context, { file, account: stack.account('ctpayer') });
  if (!submitted.accepted) throw new Error('not accepted');
  const before = await redisContents();
  const result = await dryRun(file, 'ctpayer');
  expect(result.code).toBe(0);
  expect(result.stdout).toMatch(new RegExp(`^this file: already submitted as batch ${submitted.batchId} \\(dry-again\\.csv, `, 'm'));
  expect(result.stdout).toMatch(new RegExp(`^duplicates: 3 payments \\(\\$1,522\\.50\\) already held by earlier batches \\(first: dr-1 in batch ${submitted.batchId}\\); run would skip them`, 'm'));
  expect(result.stdout).toMatch(/^would pay: nothing$/m);
  expectNothingWritten(before, await redisContents());
});
