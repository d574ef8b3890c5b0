import { createHash } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { submitManifest } from '../../src/batches/submit.js';
import { waitForBatch } from '../../src/batches/wait.js';
import { EXIT } from '../../src/commands/exit-codes.js';
import { startStack, type TestStack } from '../helpers/stack.js';
import { stipend } from '../helpers/stipend-process.js';

/**
 * Issue 13 item 2: a reason a person types (`stipend reverse --reason`, `stipend cards cancel
 * --reason`) holding a card number anywhere is refused on one line, exit 2, before anything is
 * recorded or sent, and the line shows only the number's last four digits.
 */

let stack: TestStack;
let batchId: string;
beforeAll(async () => {
  stack = await startStack({ providers: ['ctpayer'] });
  const file = await stack.manifest('paid.csv', 'payment_id,cardId,amount_cents,description\nrc-1,1000000003,1250,Visit 1\n');
  const submitted = await submitManifest(stack.context, { file, account: stack.account('ctpayer') });
  if (!submitted.accepted) throw new Error('manifest refused');
  batchId = submitted.batchId;
  const workers = await stack.startWorkers();
  await waitForBatch(stack.context, batchId, { pollMs: 50 });
  // Stopped, so nothing but the command under test could change a key.
  await workers.close();
});
afterAll(() => stack?.close());

const REASONS = ['card 4111111111111111', 'Card 4111 1111 1111 1111 lost', 'old card 4111-1111-1111-1111'];
const NEVER_SHOWN = /4111|1111[ -]?1111/;

/**
 * The keys under the test's prefix, each with a digest of its content; a key that expires by itself
 * (the rate-limit window) counts only by its name, and only while there.
 */
async function recorded(): Promise<Map<string, string>> {
  const { redis } = stack.context;
  const keys = await redis.keys(`${stack.prefix}*`);
  const entries = await Promise.all(
    keys.map(async (key) => [key, (await redis.pttl(key)) >= 0 ? 'expiring' : createHash('sha256').update((await redis.dump(key)) ?? '').digest('hex')] as const),
  );
  return new Map(entries);
}

/** Nothing new, nothing changed since `before`; an expiring key may have gone. */
async function expectNothingRecordedSince(before: Map<string, string>): Promise<void> {
  const after = await recorded();
  for (const [key, content] of after) expect(before.get(key), key).toBe(content);
  for (const [key, content] of before) if (content !== 'expiring') expect(after.get(key), key).toBe(content);
}

it('stipend reverse --reason: refused on one line, exit 2, nothing recorded or sent', async () => {
  const before = await recorded();
  const requests = stack.sandboxes.ctpayer!.requests().length;
  for (const reason of REASONS) {
    const result = await stipend(['--config', stack.configFile, 'reverse', batchId, '--payment-id', 'rc-1', '--reason', reason, '--by', 'alice']);
    expect(result.code).toBe(EXIT.usage);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe('stipend: --reason holds what looks like a full card number (…1111); card numbers are never recorded or sent; nothing was reversed\n');
  }
  expect(stack.sandboxes.ctpayer!.requests()).toHaveLength(requests);
  await expectNothingRecordedSince(before);
  expect(await stack.context.payments(stack.account('ctpayer')).get({ batchId, paymentId: 'rc-1' })).toMatchObject({ status: 'paid' });
});

it('stipend cards cancel --reason: refused on one line, exit 2, the card untouched', async () => {
  const before = await recorded();
  const requests = stack.sandboxes.ctpayer!.requests().length;
  const result = await stipend(['--config', stack.configFile, 'cards', 'cancel', '1000000004', '--reason', 'lost 4111 1111 1111 1111']);
  expect(result.code).toBe(EXIT.usage);
  expect(result.stderr).toBe('stipend: --reason: holds what looks like a full card number (…1111); card numbers are never recorded or sent\n');
  expect(result.stdout + result.stderr).not.toMatch(NEVER_SHOWN);
  expect(stack.sandboxes.ctpayer!.requests()).toHaveLength(requests);
  await expectNothingRecordedSince(before);
});
