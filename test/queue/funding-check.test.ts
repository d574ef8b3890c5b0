import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import { submitManifest } from '../../src/api.js';
import { startStack, type TestStack } from '../helpers/stack.js';

/** Before money moves: a batch the funding account cannot cover is refused with both figures. */

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
