import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startStack, type TestStack } from '../helpers/stack.js';
import { stipend, type StipendResult } from '../helpers/stipend-process.js';

/**
 * A command needs only the ${VARS} of what it uses: with every account's credentials and the
 * dashboard's password unset, the commands that call no provider work; those that call an account
 * whose variables are unset stop in one line naming it (exit 2), and other accounts are unaffected.
 */

const OTHER_ENV = { LAZY_OTHER_USER: 'sandbox', LAZY_OTHER_PASSWORD: 'sandbox-password' };
const MISSING_MAIN = /^stipend: \S+: accounts\.ctpayer\.main\.credentials\.username: environment variable LAZY_MAIN_USER is not set\n$/;

let stack: TestStack;
let configFile: string;
beforeAll(async () => {
  stack = await startStack({ providers: ['ctpayer'] });
  const account = (user: string, password: string) => ({
    baseUrl: stack.sandboxes.ctpayer!.url,
    credentials: { username: `\${${user}}`, password: `\${${password}}`, apiusername: 'stipend-batch' },
    retry: { attempts: 3, backoffMs: 50 },
    approval: 'always',
  });
  configFile = join(stack.dir, 'lazy.json');
  await writeFile(configFile, JSON.stringify({
    redis: { prefix: stack.prefix },
    reportsDir: join(stack.dir, 'reports'),
    dashboard: { password: '${LAZY_DASHBOARD_PASSWORD}' },
    accounts: { ctpayer: { main: account('LAZY_MAIN_USER', 'LAZY_MAIN_PASSWORD'), other: account('LAZY_OTHER_USER', 'LAZY_OTHER_PASSWORD') } },
  }));
});
afterAll(() => stack?.close());

const run = (args: string[], env: Record<string, string> = {}) => stipend(['--config', configFile, ...args], { env });
const expectOk = (result: StipendResult, what: string) => expect({ what, code: result.code, stderr: result.stderr }).toEqual({ what, code: 0, stderr: '' });

it('status, report, export, export tax, schedule list, approve and cancel need no account\'s variables', async () => {
  const batches: string[] = [];
  for (const n of [1, 2]) {
    const file = await stack.manifest(`lazy-${n}.csv`, `payment_id,cardId,amount,description\nlazy-${n},1000000001,12.00,Visit ${n}\n`);
    const submitted = await run(['run', file, '--provider', 'ctpayer', '--account', 'other', '--by', 'alice'], OTHER_ENV);
    expect(submitted.code, submitted.stderr).toBe(3);
    batches.push(/^batch (\S+):/m.exec(submitted.stdout)![1]!);
  }
  const [approved, canceled] = batches as [string, string];
  // Submitted by another person: this operating-system user may approve it.
  await stack.context.redis.hset(stack.context.keys.batch('ctpayer', 'other', approved), 'submitted_by', 'someone-else@elsewhere');
  const year = String(new Date().getUTCFullYear());
  for (const args of [
    ['approve', approved],
    ['cancel', canceled],
    ['status', approved, '--json'],
    ['report', canceled, '--out', join(stack.dir, 'report')],
    ['export', '--from', `${year}-01-01`, '--to', `${year}-12-31`, '--out', join(stack.dir, 'export.csv')],
    ['export', 'tax', '--year', year, '--out', join(stack.dir, 'tax.csv')],
    ['schedule', 'list'],
  ]) {
    expectOk(await run(args), args.join(' '));
  }
});

it('run, check and worker for an account whose variables are unset stop in one line naming it (exit 2)', async () => {
  const file = await stack.manifest('lazy-main.csv', 'payment_id,cardId,amount,description\nlazy-main,1000000001,12.00,Visit 1\n');
  for (const args of [
    ['run', file, '--provider', 'ctpayer', '--account', 'main'],
    ['run', file, '--provider', 'ctpayer', '--account', 'main', '--with-worker'],
    ['check', '--provider', 'ctpayer', '--account', 'main'],
    ['check'],
    ['worker', '--provider', 'ctpayer', '--account', 'main'],
  ]) {
    const result = await run(args, OTHER_ENV);
    expect({ args, code: result.code, stderr: result.stderr }).toEqual({ args, code: 2, stderr: expect.stringMatching(MISSING_MAIN) });
    expect(result.stdout, args.join(' ')).not.toMatch(/^batch /m);
  }
});

it('check --account other works with only that account\'s variables, never printing them', async () => {
  const result = await run(['check', '--account', 'other'], OTHER_ENV);
  expectOk(result, 'check --account other');
  expect(result.stdout).toMatch(/^ctpayer\/other \(CT Payer, http:\/\/127\.0\.0\.1:\d+\): OK: /);
  expect(result.stdout).not.toContain(OTHER_ENV.LAZY_OTHER_PASSWORD);
});
