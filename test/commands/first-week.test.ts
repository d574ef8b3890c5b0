import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { submitManifest } from '../../src/batches/submit.js';
import { waitForBatch } from '../../src/batches/wait.js';
import { startStack, type TestStack } from '../helpers/stack.js';
import { stipend } from '../helpers/stipend-process.js';

/** Issue 12 ("a finance team's first week"), item 5: what the CLI told a new team that misled them. */

let stack: TestStack;
beforeAll(async () => {
  stack = await startStack({ providers: ['ctpayer', 'ptapi'] });
});
afterAll(() => stack?.close());

const ONE_ROW = 'payment_id,cardId,amount_cents,description\nfw-1,1000000001,1250,Visit stipend\n';

/** A one-line error with exit code 2, never a stack trace. */
function expectOneLineUsageError(result: { code: number | null; stderr: string }, message: RegExp) {
  expect(result.code).toBe(2);
  expect(result.stderr).toMatch(message);
  expect(result.stderr.trim().split('\n')).toHaveLength(1);
}

it('5a: status --json says a batch is complete in so many words, and keeps state as it was', async () => {
  const file = await stack.manifest('fw-complete.csv', ONE_ROW);
  const submitted = await submitManifest(stack.context, { file, account: stack.account('ctpayer') });
  if (!submitted.accepted) throw new Error('not accepted');
  const pending = JSON.parse((await stipend(['--config', stack.configFile, 'status', submitted.batchId, '--json'])).stdout);
  expect(pending).toMatchObject({ state: 'enqueued', complete: false, stage: 'paying', pending: 1 });

  const workers = await stack.startWorkers([stack.account('ctpayer')]);
  try {
    await waitForBatch(stack.context, submitted.batchId);
  } finally {
    await workers.close();
  }
  const status = await stipend(['--config', stack.configFile, 'status', submitted.batchId, '--json']);
  expect(status.code).toBe(0);
  expect(JSON.parse(status.stdout)).toMatchObject({ batch_id: submitted.batchId, state: 'enqueued', complete: true, stage: 'complete', pending: 0, n_paid: 1 });

  const human = await stipend(['--config', stack.configFile, 'status', submitted.batchId]);
  expect(human.stdout).toMatch(/^1 row; 1 payment requested \(\$12\.50\)$/m);
});

it.each(['ctpayer', 'ptapi'] as const)('5b: %s credentials refused at the funding check: exit 2, one line, nothing queued', async (provider) => {
  const raw = JSON.parse(await readFile(stack.configFile, 'utf8'));
  raw.accounts[provider].main.credentials.password = 'not-the-password';
  const configFile = join(stack.dir, `bad-${provider}.json`);
  await writeFile(configFile, JSON.stringify(raw));
  const file = await stack.manifest(`fw-${provider}.csv`, provider === 'ctpayer' ? ONE_ROW : 'payment_id,cardholderId,customerId,programId,description,amount_cents\nfw-1,CH0001,C200,PR300,Visit stipend,1500\n');
  const batchesBefore = await stack.context.redis.zcard(stack.context.keys.batches());
  stack.sandboxes[provider]!.reset();

  const result = await stipend(['--config', configFile, 'run', file, '--provider', provider]);
  expectOneLineUsageError(result, /refused the main account's credentials.*stipend check/);
  expect(result.stderr).not.toContain('not-the-password');
  // Asked once: no retry can fix credentials (a CT Payer balance read, a PT API login).
  expect(stack.sandboxes[provider]!.requests()).toHaveLength(1);
  expect(await stack.context.redis.zcard(stack.context.keys.batches())).toBe(batchesBefore);
});

it('5c: check names the providers that exist, and the accounts configured', async () => {
  expectOneLineUsageError(await stipend(['--config', stack.configFile, 'check', '--provider', 'paypal']), /^stipend: unknown provider "paypal"; choose one of: clientpay, ctpayer, ontraport, ptapi, virtualrx\n$/);
  const unconfigured = await stipend(['--config', stack.configFile, 'check', '--provider', 'virtualrx']);
  expectOneLineUsageError(unconfigured, /^stipend: no virtualrx account is configured; configured: ctpayer\/main, ptapi\/main \(/);
  const noAccount = await stipend(['--config', stack.configFile, 'check', '--provider', 'ctpayer', '--account', 'payroll']);
  expectOneLineUsageError(noAccount, /^stipend: no ctpayer account named "payroll"; configured: ctpayer\/main, ptapi\/main \(/);
  expect(unconfigured.stderr + noAccount.stderr).not.toContain('*');
});

it('5d: schedule add refuses a folder that does not exist, or a file, and adds nothing', async () => {
  const missing = join(stack.dir, 'no-such-folder');
  expectOneLineUsageError(
    await stipend(['--config', stack.configFile, 'schedule', 'add', 'fw-nightly', '--cron', '0 6 * * *', '--dir', missing, '--provider', 'ctpayer']),
    new RegExp(`^stipend: --dir ${missing.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: no such folder`),
  );
  const file = await stack.manifest('fw-not-a-folder.csv', ONE_ROW);
  expectOneLineUsageError(
    await stipend(['--config', stack.configFile, 'schedule', 'add', 'fw-nightly', '--cron', '0 6 * * *', '--dir', file, '--provider', 'ctpayer']),
    /is a file, not a folder/,
  );
  expect((await stipend(['--config', stack.configFile, 'schedule', 'list'])).stdout).toBe('no schedules\n');

  const folder = join(stack.dir, 'drops');
  await mkdir(folder);
  const added = await stipend(['--config', stack.configFile, 'schedule', 'add', 'fw-nightly', '--cron', '0 6 * * *', '--dir', folder, '--provider', 'ctpayer']);
  expect(added.code).toBe(0);
  expect((await stipend(['--config', stack.configFile, 'schedule', 'remove', 'fw-nightly'])).code).toBe(0);
});
