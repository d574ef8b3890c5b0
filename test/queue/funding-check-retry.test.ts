import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import { submitManifest } from '../../src/api.js';
import type { FaultRule } from '../../src/sandbox/index.js';
import { startStack, type TestStack } from '../helpers/stack.js';

/**
 * Path 12a of "never twice, never lost": the funding balance read before a batch is queued is
 * retried like any other call that moves no money. One connection reset or one 503 must not reject
 * a batch; a balance that stays unreadable still does, after the account's `retry.attempts` reads.
 */

let stack: TestStack;
beforeAll(async () => {
  stack = await startStack({ providers: ['ctpayer', 'ptapi'] });
});
afterAll(() => stack?.close());
beforeEach(() => {
  for (const sandbox of Object.values(stack.sandboxes)) sandbox.reset();
});

const BALANCE_PATH = { ctpayer: '/getaccountbalance.php', ptapi: '/master-funds' } as const;
const MANIFESTS = {
  ctpayer: 'payment_id,cardId,amount_cents,description\nfr-1,1000000001,1500,Visit stipend\n',
  ptapi: 'payment_id,cardholderId,customerId,programId,description,amount_cents\nfr-1,CH0001,C200,PR300,Visit stipend,1500\n',
};

async function submit(provider: 'ctpayer' | 'ptapi', faults: FaultRule[]) {
  stack.sandboxes[provider]!.setFaults(faults.map((rule) => ({ ...rule, paths: [BALANCE_PATH[provider]] })));
  const file = await stack.manifest(`${provider}-funding-retry-${Math.random().toString(36).slice(2)}.csv`, MANIFESTS[provider]);
  return submitManifest(stack.context, { file, account: stack.account(provider) });
}

const balanceReads = (provider: 'ctpayer' | 'ptapi') => stack.sandboxes[provider]!.requests().filter((r) => r.path === BALANCE_PATH[provider]);

it.each([
  ['ctpayer', 'drop-before'],
  ['ctpayer', 'unavailable'],
  ['ptapi', 'drop-before'],
  ['ptapi', 'unavailable'],
] as const)('path 12a: %s: one %s on the funding balance read does not reject the batch', async (provider, kind) => {
  const result = await submit(provider, [{ kind, times: 1, retryAfterSeconds: 0 }]);
  expect(result).toMatchObject({ accepted: true });
  // The first read was refused or cut off, the second answered.
  expect(balanceReads(provider).map((r) => r.status)).toEqual([kind === 'unavailable' ? 503 : 0, 200]);
});

it('path 12a: a balance that stays unreadable is refused after the account\'s retry.attempts reads', async () => {
  const result = await submit('ctpayer', [{ kind: 'unavailable', retryAfterSeconds: 0 }]);
  expect(result).toMatchObject({ accepted: false, refusal: expect.stringMatching(/^could not read the CT Payer funding balance after 3 attempts \(CT Payer getaccountbalance: /) });
  expect(balanceReads('ctpayer')).toHaveLength(stack.account('ctpayer').retry.attempts);
  expect(stack.sandboxes.ctpayer!.transactions()).toEqual([]);
});
