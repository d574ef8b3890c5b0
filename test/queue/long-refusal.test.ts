import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { waitForBatch } from '../../src/batches/wait.js';
import { startStack, type TestStack } from '../helpers/stack.js';
import { stipend } from '../helpers/stipend-process.js';

/**
 * Path 11 (operator side) of "never twice, never lost": a provider that refuses for a long time
 * (503 or 429 with Retry-After, for minutes). `stipend run` says what waits and why at a steady
 * interval, and `--max-wait` stops waiting with its own exit code, leaving every payment queued
 * (nothing failed, nothing sent twice): a later worker pays each once.
 */

let stack: TestStack;
beforeAll(async () => {
  stack = await startStack({ providers: ['ptapi', 'ctpayer'] });
});
afterAll(() => stack?.close());

const MANIFESTS = {
  ptapi: 'payment_id,cardholderId,customerId,programId,description,amount_cents\nlr-1,CH0001,C200,PR300,Visit stipend,1200\nlr-2,CH0002,C200,PR300,Visit stipend,3400\n',
  ctpayer: 'payment_id,cardId,amount_cents,description\nlr-1,1000000001,1200,Visit stipend\nlr-2,1000000002,3400,Visit stipend\n',
};

it.each([
  ['ptapi', 'unavailable', 503],
  ['ctpayer', 'throttle', 429],
] as const)('path 11: %s refusing with %s: run prints why payments wait and --max-wait leaves them queued', async (provider, kind, status) => {
  const sandbox = stack.sandboxes[provider]!;
  sandbox.setFaults([{ kind, retryAfterSeconds: 2 }]); // every payment request, for as long as it lasts
  const file = await stack.manifest(`${provider}-long-refusal.csv`, MANIFESTS[provider]);

  const result = await stipend(['--config', stack.configFile, 'run', file, '--provider', provider, '--with-worker', '--max-wait', '8s', '--status-every', '1s', '--out', join(stack.dir, 'out')]);
  expect(result.code).toBe(4);
  const batchId = /^batch (\S+):/m.exec(result.stdout)![1]!;
  expect(result.stdout).toMatch(new RegExp(`^2 payments queued for ${provider}/main: provider asked to slow down \\(${status}\\)`, 'm'));
  expect(result.stdout.trim().split('\n').at(-1)).toMatch(/^stopped waiting after 8s \(--max-wait\): 2 payments stay queued/);
  expect(result.stderr).not.toMatch(/\n\s+at /);

  // Refused, never applied; safely queued, none failed.
  expect(sandbox.requests().filter((r) => r.status === status).length).toBeGreaterThan(0);
  expect(sandbox.transactions()).toEqual([]);
  const ledger = stack.context.payments(stack.account(provider));
  for (const paymentId of ['lr-1', 'lr-2']) expect((await ledger.get({ batchId, paymentId }))?.status).toBe('queued');
  expect(await stack.context.batches.get(batchId)).toMatchObject({ final: 0, n_failed: 0 });

  // The provider is back: a worker pays each payment once.
  sandbox.setFaults([]);
  const workers = await stack.startWorkers([stack.account(provider)]);
  expect(await waitForBatch(stack.context, batchId, { pollMs: 100 })).toMatchObject({ n_paid: 2, c_paid: 4600 });
  await workers.close();
  expect(sandbox.transactions().map((t) => t.amountCents).sort()).toEqual([1200, 3400]);
});
