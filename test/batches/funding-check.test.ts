import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import { submitManifest } from '../../src/batches/submit.js';
import type { FaultRule } from '../../src/sandbox/index.js';
import { startStack, type TestStack } from '../helpers/stack.js';

/**
 * Before money moves: a batch the funding account cannot cover is refused with both figures. The
 * balance read moves no money, so it is retried like any other call (path 12a of "never twice, never
 * lost"): one reset or 503 never rejects a batch; a balance that stays unreadable does.
 */

let stack: TestStack;
beforeAll(async () => {
  stack = await startStack({ providers: ['ctpayer', 'ptapi'] });
});
afterAll(() => stack?.close());
beforeEach(() => {
  for (const sandbox of Object.values(stack.sandboxes)) sandbox.reset();
});

const MANIFESTS = {
  ctpayer: (cents: string[]) => ['payment_id,cardId,amount_cents,description', ...cents.map((c, i) => `f-${i},100000000${i + 1},${c},Visit stipend`)],
  ptapi: (cents: string[]) => ['payment_id,cardholderId,customerId,programId,description,amount_cents', ...cents.map((c, i) => `f-${i},CH000${i + 1},C200,PR300,Visit stipend,${c}`)],
};

async function submit(provider: 'ctpayer' | 'ptapi', cents: string[]) {
  const file = await stack.manifest(`${provider}-funding.csv`, MANIFESTS[provider](cents).join('\n'));
  return submitManifest(stack.context, { file, account: stack.account(provider) });
}

it.each(['ctpayer', 'ptapi'] as const)('%s: refuses a batch above the funding balance, queues nothing, and accepts one within it', async (provider) => {
  const batchesBefore = await stack.context.redis.zcard(stack.context.keys.batches());
  // The sandbox funding account holds $50,000.00; this batch needs $50,000.01.
  const refused = await submit(provider, ['2500000', '2500001']);
  expect(refused).toMatchObject({ accepted: false, refusal: expect.stringMatching(/^the batch totals \$50000\.01 but the .* funding account \(main\) holds \$50000\.00$/) });
  expect(await stack.context.redis.zcard(stack.context.keys.batches())).toBe(batchesBefore);
  expect(stack.sandboxes[provider]!.transactions()).toEqual([]);

  expect(await submit(provider, ['2500000', '2500000'])).toMatchObject({ accepted: true });
});

it('refuses when the balance cannot be read, rather than guess', async () => {
  stack.sandboxes.ctpayer!.setFaults([{ kind: 'server-error', paths: ['/getaccountbalance.php'] }]);
  expect(await submit('ctpayer', ['100'])).toMatchObject({ accepted: false, refusal: expect.stringMatching(/^could not read the CT Payer funding balance/) });
});

// ---- Path 12a: the read is retried ----------------------------------------------------------------

const BALANCE_PATH = { ctpayer: '/getaccountbalance.php', ptapi: '/master-funds' } as const;
const ONE_ROW = {
  ctpayer: 'payment_id,cardId,amount_cents,description\nfr-1,1000000001,1500,Visit stipend\n',
  ptapi: 'payment_id,cardholderId,customerId,programId,description,amount_cents\nfr-1,CH0001,C200,PR300,Visit stipend,1500\n',
};

/** One row through `provider` while the balance read meets `faults`. */
async function submitWithBalanceFaults(provider: 'ctpayer' | 'ptapi', faults: FaultRule[]) {
  stack.sandboxes[provider]!.setFaults(faults.map((rule) => ({ ...rule, paths: [BALANCE_PATH[provider]] })));
  const file = await stack.manifest(`${provider}-funding-retry-${Math.random().toString(36).slice(2)}.csv`, ONE_ROW[provider]);
  return submitManifest(stack.context, { file, account: stack.account(provider) });
}

const balanceReads = (provider: 'ctpayer' | 'ptapi') => stack.sandboxes[provider]!.requests().filter((r) => r.path === BALANCE_PATH[provider]);

it.each([
  ['ctpayer', 'drop-before'],
  ['ctpayer', 'unavailable'],
  ['ptapi', 'drop-before'],
  ['ptapi', 'unavailable'],
] as const)('path 12a: %s: one %s on the funding balance read does not reject the batch', async (provider, kind) => {
  const result = await submitWithBalanceFaults(provider, [{ kind, times: 1, retryAfterSeconds: 0 }]);
  expect(result).toMatchObject({ accepted: true });
  // The first read was refused or cut off, the second answered.
  expect(balanceReads(provider).map((r) => r.status)).toEqual([kind === 'unavailable' ? 503 : 0, 200]);
});

it('path 12a: a balance that stays unreadable is refused after the account\'s retry.attempts reads', async () => {
  const result = await submitWithBalanceFaults('ctpayer', [{ kind: 'unavailable', retryAfterSeconds: 0 }]);
  expect(result).toMatchObject({ accepted: false, refusal: expect.stringMatching(/^could not read the CT Payer funding balance after 3 attempts \(CT Payer getaccountbalance: /) });
  expect(balanceReads('ctpayer')).toHaveLength(stack.account('ctpayer').retry.attempts);
  expect(stack.sandboxes.ctpayer!.transactions()).toEqual([]);
});
