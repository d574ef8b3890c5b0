import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { hostname, userInfo } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pLimit from 'p-limit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { approveBatch } from '../src/batches/approval.js';
import { submitManifest } from '../src/batches/submit.js';
import { waitForBatch } from '../src/batches/wait.js';
import { exportCommand } from '../src/commands/export.js';
import { reverseCommand } from '../src/commands/reverse.js';
import { resolveCommand } from '../src/commands/settle.js';
import { validateCommand } from '../src/commands/validate.js';
import { StipendError } from '../src/errors.js';
import { freePort } from './helpers/private-redis.js';
import { parseReport, startStack, type TestStack } from './helpers/stack.js';
import { stipend } from './helpers/stipend-process.js';

/** The `stipend` command as a user runs it: exit codes, one-line errors, a real batch. */

const ROOT = fileURLToPath(new URL('..', import.meta.url));


let stack: TestStack;
beforeAll(async () => {
  stack = await startStack({ providers: ['ctpayer'] });
});
afterAll(() => stack?.close());

describe('stipend validate', () => {
  it('exits 0 for a valid manifest and 1 with one problem per line for an invalid one', async () => {
    const good = await stack.manifest('good.csv', 'cardId,amount,description\n1000000001,12.50,Visit 1\n');
    const bad = await stack.manifest('bad.csv', 'cardId,amount,description\n12345,1e3,Visit 1\n');
    const ok = await stipend(['validate', good, '--provider', 'ctpayer']);
    expect(ok).toMatchObject({ code: 0 });
    expect(ok.stdout).toBe('valid: 1 row: 1 valid ($12.50), 0 with problems\n');

    const invalid = await stipend(['validate', bad, '--provider', 'ctpayer']);
    expect(invalid.code).toBe(1);
    expect(invalid.stdout).toMatch(/^line 2, column cardId: .*10 digits/m);
    expect(invalid.stdout).toMatch(/^line 2, column amount: .*exponent/m);

    const json = await stipend(['validate', bad, '--provider', 'ctpayer', '--json']);
    expect(JSON.parse(json.stdout)).toMatchObject({ valid: false, dataRows: 1 });
  });

  it('answers user mistakes with one line and exit code 2, never a stack trace', async () => {
    const good = await stack.manifest('good2.csv', 'cardId,amount,description\n1000000001,12.50,Visit 1\n');
    const nowhere = `redis://127.0.0.1:${await freePort()}`;
    // One case per way a mistake reaches the user: commander's refusals, a command's own error,
    // a broken configuration, Redis down. What each command says is checked in the next test.
    const cases = [
      { args: ['validate', good], message: /--provider/ },
      { args: ['run', good, '--provider', 'ctpayer', '--bogus'], message: /unknown option '--bogus'/ },
      { args: ['--config', stack.configFile, 'reverse', 'b', '--all', '--by', 'ops'], message: /required option '--reason <text>' not specified/ },
      { args: ['validate', join(stack.dir, 'missing.csv'), '--provider', 'ctpayer'], message: /missing\.csv/ },
      { args: ['sandbox', '--port-base', '65532'], message: /--port-base must be a whole number from 1 to 65531 \(the sandboxes listen on base to base\+4\), not 65532/ },
      { args: ['--config', stack.configFile, 'status', 'no-such-batch'], message: /no batch no-such-batch is recorded/ },
      { args: ['--config', join(stack.dir, 'none.json'), 'status', 'x'], message: /cannot read config file/ },
      { args: ['status', 'nope'], env: { REDIS_URL: nowhere }, message: new RegExp(`Redis is not reachable at ${nowhere}:`) },
    ];
    // Each case is a process of its own, a second or more of CPU to start: a few at a time, so that
    // on a 2-core machine running other test files beside this one they finish well within the timeout.
    const limit = pLimit(3);
    const results = await Promise.all(cases.map((c) => limit(() => stipend(c.args, { env: c.env }))));
    for (const [i, c] of cases.entries()) {
      const result = results[i]!;
      expect(result.code, c.args.join(' ')).toBe(2);
      expect(result.stderr, c.args.join(' ')).toMatch(c.message);
      expect(result.stderr.trim().split('\n'), c.args.join(' ')).toHaveLength(1);
      expect(result.stderr).not.toMatch(/\n\s+at /);
    }
  });

  it('names each mistake in one line: the commands\' own refusals, which the CLI prints as above', async () => {
    const good = await stack.manifest('good3.csv', 'cardId,amount,description\n1000000001,12.50,Visit 1\n');
    const config = stack.configFile;
    const cases: [() => Promise<number>, RegExp][] = [
      [() => validateCommand(good, { provider: 'paypal' }), /unknown provider "paypal"/],
      [() => resolveCommand('b', 'p', { by: 'ops', config }), /say one of --paid <reference>, --not-paid, --reversed <reference> or --not-reversed/],
      [() => resolveCommand('no-such-batch', 'p', { notPaid: true, by: 'ops', config }), /no batch no-such-batch is recorded/],
      [() => reverseCommand('b', { reason: 'Wrong card', by: 'ops', config }), /say which payments to reverse: --payment-id <id> \(repeatable\) or --all/],
      [() => exportCommand({ from: '2026-13-01', to: '2026-11-30', config }), /--from: 2026-13-01 is not a day in the calendar/],
      [() => exportCommand({ from: '2026-11-01', to: '2026-11-30', groupBy: 'site', config }), /--group-by: /],
    ];
    for (const [command, message] of cases) {
      const error = await command().then(() => undefined, (e: unknown) => e);
      expect(error).toBeInstanceOf(StipendError);
      expect((error as Error).message).toMatch(message);
      expect((error as Error).message).not.toContain('\n');
    }
  });
});

describe('stipend run', () => {
  it('pays a manifest with an in-process worker and writes the report', async () => {
    const file = await stack.manifest('run.csv', 'payment_id,cardId,amount,description\ncli-1,1000000003,7.25,Visit 2\ncli-2,1000000022,3.00,Visit 2\n');
    const out = join(stack.dir, 'out');
    const result = await stipend(['--config', stack.configFile, 'run', file, '--provider', 'ctpayer', '--out', out, '--with-worker']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const batchId = /^batch (\S+):/m.exec(result.stdout)![1]!;
    expect(result.stdout).toMatch(/done: 1 paid \(\$7\.25\), 1 declined \(\$3\.00\)/);
    const rows = parseReport(await readFile(join(out, batchId, 'reconciliation.csv'), 'utf8'));
    expect(rows.map((r) => [r.payment_id, r.status, r.amount])).toEqual([['cli-1', 'paid', '7.25'], ['cli-2', 'declined', '3.00']]);
    const summary = JSON.parse(await readFile(join(out, batchId, 'summary.json'), 'utf8'));
    expect(summary).toMatchObject({ complete: true, paid: { cents: 725 }, requested: { cents: 1025 } });

    const status = await stipend(['--config', stack.configFile, 'status', batchId]);
    expect(status).toMatchObject({ code: 0 });
    expect(status.stdout).toMatch(/complete: 1 paid/);
  });

  it('refuses an invalid manifest with exit code 1 and queues nothing', async () => {
    stack.sandboxes.ctpayer!.reset();
    const file = await stack.manifest('run-bad.csv', 'cardId,amount,description\n1000000003,7.25,"=HYPERLINK(""http://x"")"\n');
    const result = await stipend(['--config', stack.configFile, 'run', file, '--provider', 'ctpayer']);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/line 2, column description: .*formula/);
    expect(result.stdout).toMatch(/nothing was queued/);
    expect(stack.sandboxes.ctpayer!.requests()).toHaveLength(0);
  });
});

describe('stipend reverse', () => {
  it('prints what happened to each payment and the total given back; exit 1 when one was not reversed', async () => {
    const file = await stack.manifest('reverse.csv', 'payment_id,cardId,amount,description\ncli-r1,1000000010,7.25,Visit 2\ncli-r2,1000000011,2.00,Visit 2\ncli-r3,1000000022,3.00,Visit 2\n');
    // Paid in this process (`stipend run` has its own test): the child processes are for `reverse`.
    const workers = await stack.startWorkers();
    const submitted = await submitManifest(stack.context, { file, account: stack.account('ctpayer') });
    if (!submitted.accepted) throw new Error('manifest rejected');
    const { batchId } = submitted;
    await waitForBatch(stack.context, batchId, { pollMs: 50 });
    await workers.close();

    const reversed = await stipend(['--config', stack.configFile, 'reverse', batchId, '--payment-id', 'cli-r1', 'cli-r2', '--reason', 'Wrong participant', '--by', 'ops']);
    expect(reversed.stderr).toBe('');
    expect(reversed.code).toBe(0);
    expect(reversed.stdout).toMatch(/^cli-r1 \$7\.25: reversed \(reference \d+\)$/m);
    expect(reversed.stdout).toMatch(/^cli-r2 \$2\.00: reversed \(reference \d+\)$/m);
    expect(reversed.stdout).toMatch(new RegExp(`^batch ${batchId}: 2 reversed \\(\\$9\\.25\\)$`, 'm'));

    const refused = await stipend(['--config', stack.configFile, 'reverse', batchId, '--payment-id', 'cli-r1', 'cli-r3', '--reason', 'Wrong participant', '--by', 'ops']);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toMatch(/^cli-r1 \$7\.25: not reversed: already reversed on \S+ \(reference \d+\) by ops$/m);
    expect(refused.stdout).toMatch(/^cli-r3 \$3\.00: not reversed: it was never paid \(declined\)$/m);
    expect(refused.stdout).toMatch(/: 0 reversed \(\$0\.00\), 2 not reversed$/m);

    const tooLong = await stipend(['--config', stack.configFile, 'reverse', batchId, '--all', '--reason', 'r'.repeat(46), '--by', 'ops']);
    expect(tooLong).toMatchObject({ code: 2, stdout: '', stderr: 'stipend: --reason must be at most 45 characters (has 46) for CT Payer; nothing was reversed\n' });
    expect((await stipend(['--config', stack.configFile, 'status', batchId])).stdout).toMatch(/1 declined \(\$3\.00\), 2 reversed \(\$9\.25\)/);
  });
});

/**
 * Five consecutive ports nothing listens on, for `stipend sandbox --port-base`. Taken below Linux's
 * ephemeral range (32768 and up), where no port-0 listener or outgoing connection of a test running
 * beside this one can take one of them between this check and the sandboxes' listen.
 */
async function freePortBlock(): Promise<number> {
  for (;;) {
    const base = 20_000 + Math.floor(Math.random() * 12_000);
    const probes = [0, 1, 2, 3, 4].map((i) => createServer().listen(base + i, '127.0.0.1'));
    const free = await Promise.all(probes.map((p) => once(p, 'listening').then(() => true, () => false)));
    await Promise.all(probes.filter((p) => p.listening).map((p) => new Promise((resolve) => p.close(resolve))));
    if (free.every(Boolean)) return base;
  }
}

describe('stipend sandbox', () => {
  it('serves the sandboxes on --port-base and the next ports, in the documented order, until SIGTERM; says so when a port is taken', async () => {
    const base = await freePortBlock();
    const child = spawn(process.execPath, ['--import', 'tsx', 'jobs/main.ts', 'sandbox', '--port-base', String(base)], { cwd: ROOT });
    try {
      let stdout = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      while (!stdout.includes('VirtualRx sandbox')) {
        if (child.exitCode !== null) throw new Error(`sandbox exited: ${stdout}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(stdout.trim().split('\n').map((line) => line.replace(/ \(transactions: .*\)$/, ''))).toEqual(
        ['CT Payer', 'PT API', 'ONTRAPORT', 'ClientPay', 'VirtualRx'].map((name, i) => `${name} sandbox: http://127.0.0.1:${base + i}`),
      );
      const echo = await fetch(`http://127.0.0.1:${base}/echo.php`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'username=sandbox&password=sandbox-password',
      });
      expect(await echo.json()).toMatchObject({ status: 'success' });

      const second = await stipend(['sandbox', '--provider', 'ctpayer', '--port-base', String(base)]);
      expect(second.code).toBe(2);
      expect(second.stderr).toBe(`stipend: port ${base} on 127.0.0.1 is already in use (is a sandbox already running?)\n`);
    } finally {
      child.kill('SIGTERM');
    }
    expect((await once(child, 'exit'))[0]).toBe(0);
  });
});

describe('stipend check', () => {
  it('proves each account\'s credentials, never printing them, and exits 1 when one fails', async () => {
    const ok = await stipend(['--config', stack.configFile, 'check']);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/^ctpayer\/main \(CT Payer, http:\/\/127\.0\.0\.1:\d+\): OK: /m);

    const raw = JSON.parse(await readFile(stack.configFile, 'utf8'));
    raw.accounts.ctpayer.main.credentials.password = 'wrong-password';
    const badConfig = join(stack.dir, 'bad-password.json');
    await writeFile(badConfig, JSON.stringify(raw));
    const bad = await stipend(['--config', badConfig, 'check', '--provider', 'ctpayer']);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/^ctpayer\/main .*: FAILED: AUTH_FAILED/m);
    expect(bad.stdout + bad.stderr).not.toContain('wrong-password');
  });
});

describe('maker-checker from the command line', () => {
  it('run waits for approval (exit 3); the same operating-system user cannot approve, whatever --by says; another person can', async () => {
    const raw = JSON.parse(await readFile(stack.configFile, 'utf8'));
    raw.accounts.ctpayer.main.approval = 'always';
    const approvalConfig = join(stack.dir, 'approval.json');
    await writeFile(approvalConfig, JSON.stringify(raw));
    const file = await stack.manifest('approve-me.csv', 'payment_id,cardId,amount,description\ncli-ap-1,1000000007,12.00,Visit 3\n');
    const me = `${userInfo().username}@${hostname()}`;

    const run = await stipend(['--config', approvalConfig, 'run', file, '--provider', 'ctpayer', '--by', 'alice']);
    expect(run.code).toBe(3);
    expect(run.stdout).toMatch(/1 payments, \$12\.00 in all/);
    expect(run.stdout).toContain(`awaiting approval: nothing is paid until a person other than alice (${me}), logged in as another user, runs \`stipend approve `);
    const batchId = /^batch (\S+):/m.exec(run.stdout)![1]!;
    expect(await stack.context.batches.get(batchId)).toMatchObject({ submitted_by: me, submitted_by_name: 'alice' });

    // The submitter again, under another name: refused in one line, nothing changed.
    const self = await stipend(['--config', approvalConfig, 'approve', batchId, '--by', 'bob']);
    expect(self).toEqual({ code: 2, stdout: '', stderr: `stipend: ${me} submitted batch ${batchId}; someone else must approve it\n` });
    expect(await stack.context.batches.get(batchId)).toMatchObject({ state: 'awaiting_approval' });
    // Another person is another operating-system user; here through the programmatic API.
    expect(await approveBatch(stack.context, batchId, { identity: 'bob@checker-host', displayName: 'Bob' })).toMatchObject({ state: 'enqueued', approved_by: 'bob@checker-host', approved_by_name: 'Bob' });
    expect((await stipend(['--config', approvalConfig, 'status', batchId])).stdout).toMatch(/approved by Bob \(bob@checker-host\) at /);
  });
});

describe('stipend check across providers', () => {
  it('says OK for every provider whose credentials it can prove, and that VirtualRx offers no way to', async () => {
    const all = await startStack({ providers: ['ctpayer', 'ptapi', 'ontraport', 'clientpay', 'virtualrx'] });
    try {
      const result = await stipend(['--config', all.configFile, 'check']);
      expect(result.code).toBe(0);
      const lines = result.stdout.trim().split('\n').map((line) => line.replace(/ \(.*?\): /, ': '));
      expect(lines).toEqual([
        expect.stringMatching(/^ctpayer\/main: OK: /),
        expect.stringMatching(/^ptapi\/main: OK: /),
        expect.stringMatching(/^ontraport\/main: OK: list_gateways answered: 5 gateways/),
        expect.stringMatching(/^clientpay\/main: OK: /),
        expect.stringMatching(/^virtualrx\/main: NOT VERIFIABLE: VirtualRx documents no call that moves no money/),
      ]);
      expect(result.stdout).not.toMatch(/sandbox-password|sandbox-key|sandbox-token|1234/);
      // PT API's session was closed again: a login, then a logout.
      expect(all.sandboxes.ptapi!.requests().map((r) => r.path)).toEqual(['/users/login', '/users/logout']);
    } finally {
      await all.close();
    }
  });
});
