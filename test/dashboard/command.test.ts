import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { submitManifest } from '../../src/batches/submit.js';
import { waitForBatch } from '../../src/batches/wait.js';
import { resolveConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/errors.js';
import { spawnWorker, type WorkerProcess } from '../helpers/worker-process.js';
import { startStack, type TestStack } from '../helpers/stack.js';

/**
 * `stipend dashboard` as an operator runs it: its own process beside a `stipend worker` process,
 * seeing what that worker did only through Redis; and its refusals to start unprotected.
 */

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const PASSWORD = 'a password from the environment';
const AUTH = `Basic ${Buffer.from(`finance:${PASSWORD}`).toString('base64')}`;

let stack: TestStack;
let raw: Record<string, unknown>;
let configFile: string;

beforeAll(async () => {
  stack = await startStack({ providers: ['ctpayer'] });
  raw = JSON.parse(await readFile(stack.configFile, 'utf8')) as Record<string, unknown>;
  configFile = join(stack.dir, 'with-dashboard.json');
  await writeFile(configFile, JSON.stringify({ ...raw, dashboard: { username: 'finance', password: '${DASHBOARD_PASSWORD}' } }));
});
const children: ChildProcess[] = [];
afterAll(async () => {
  // A test that timed out leaves its process running.
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  await stack?.close();
});

/** `started` resolves at its first line on stdout (the dashboard prints its address once it listens). */
function stipend(args: string[], env: NodeJS.ProcessEnv = { DASHBOARD_PASSWORD: PASSWORD }): { child: ChildProcess; started: Promise<unknown>; output: Promise<{ code: number | null; stdout: string; stderr: string }> } {
  const child = spawn(process.execPath, ['--import', 'tsx', 'jobs/main.ts', ...args], { cwd: ROOT, env: { ...process.env, LOG_LEVEL: 'info', ...env } });
  children.push(child);
  const started = once(child.stdout!, 'data');
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  return { child, started, output: once(child, 'exit').then(([code]) => ({ code: code as number | null, stdout, stderr })) };
}

async function freePort(): Promise<number> {
  const probe = createServer().listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const { port } = probe.address() as { port: number };
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

describe('stipend dashboard', () => {
  it('refuses --no-auth anywhere but on a loopback address', async () => {
    const exposed = await stipend(['--config', stack.configFile, 'dashboard', '--no-auth', '--host', '0.0.0.0']).output;
    expect(exposed.code).toBe(2);
    expect(exposed.stderr).toBe('stipend: --no-auth is allowed only on a loopback address (127.0.0.1, ::1, localhost), not 0.0.0.0\n');
  });

  it('names a weak password\'s key in the configuration, never its value', () => {
    const attempt = () => resolveConfig({ ...raw, dashboard: { username: 'finance', password: 'hunter2' } }, 'test.json').dashboard.signIn();
    expect(attempt).toThrow(ConfigError);
    expect(attempt).toThrow('test.json: dashboard.password: must be at least 12 characters');
    expect(attempt).not.toThrow(/hunter2/);
  });

  it('starts as the README\'s quick start says: no configuration file, DASHBOARD_PASSWORD in the environment, user finance', async () => {
    const port = await freePort();
    // Built-in sandbox accounts (no file), this stack's Redis.
    const dashboard = stipend(['dashboard', '--port', String(port)], { DASHBOARD_PASSWORD: PASSWORD, STIPEND_CONFIG: undefined, REDIS_URL: stack.config.redisUrl });
    try {
      // A refusal ends the process without a line on stdout.
      await Promise.race([dashboard.started, dashboard.output.then(({ stderr }) => Promise.reject(new Error(stderr)))]);
      const base = `http://127.0.0.1:${port}`;
      expect((await fetch(`${base}/metrics`)).status).toBe(401);
      expect((await fetch(`${base}/metrics`, { headers: { authorization: AUTH } })).status).toBe(200);
    } finally {
      dashboard.child.kill('SIGTERM');
    }
    const { code, stdout, stderr } = await dashboard.output;
    expect(code).toBe(0);
    expect(stdout + stderr).not.toContain(PASSWORD);
  });

  it('leaves the dashboard section\'s variables to the dashboard: other commands run without them, it refuses in one line', async () => {
    const file = join(stack.dir, 'dashboard-unset.json');
    await writeFile(file, JSON.stringify({ ...raw, dashboard: { password: '${STIPEND_TEST_UNSET_PASSWORD}' } }));
    const env = { DASHBOARD_PASSWORD: undefined, STIPEND_TEST_UNSET_PASSWORD: undefined };

    const exported = await stipend(['--config', file, 'export', '--from', '2020-01-01', '--to', '2020-01-02', '--out', join(stack.dir, 'export.csv')], env).output;
    expect([exported.code, exported.stderr]).toEqual([0, '']);
    expect(exported.stdout).toContain('no payments settled from 2020-01-01 to 2020-01-02\n');
    // Past the configuration to Redis, which knows no such batch.
    const status = await stipend(['--config', file, 'status', 'no-such-batch'], env).output;
    expect([status.code, status.stderr]).toEqual([2, 'stipend: no batch no-such-batch is recorded\n']);

    const refused = await stipend(['--config', file, 'dashboard', '--port', String(await freePort())], env).output;
    expect([refused.code, refused.stdout]).toEqual([2, '']);
    expect(refused.stderr).toBe(`stipend: ${file}: dashboard.password: environment variable STIPEND_TEST_UNSET_PASSWORD is not set\n`);
  });

  it('shows, from its own process, what a separate worker process paid and how its requests went', async () => {
    const port = await freePort();
    let worker: WorkerProcess | undefined;
    const dashboard = stipend(['--config', configFile, 'dashboard', '--port', String(port)]);
    try {
      worker = await spawnWorker(stack.configFile); // the same accounts and Redis, without the dashboard's section
      const file = await stack.manifest('visits.csv', 'payment_id,cardId,amount,description\nd-1,1000000001,10.00,Visit 1\nd-2,1000000002,2.50,Visit 1\n');
      const submitted = await submitManifest(stack.context, { file, account: stack.account('ctpayer') });
      if (!submitted.accepted) throw new Error('manifest rejected');
      const batch = await waitForBatch(stack.context, submitted.batchId, { pollMs: 50 });
      expect([batch.n_paid, batch.c_paid]).toEqual([2, 1250]);

      await dashboard.started;
      const base = `http://127.0.0.1:${port}`;
      const health = await fetch(`${base}/healthz`);
      expect([health.status, ((await health.json()) as { workers: number }).workers]).toEqual([200, 1]);
      const metrics = await (await fetch(`${base}/metrics`, { headers: { authorization: AUTH } })).text();
      expect(metrics).toContain('stipend_payments{provider="ctpayer",account="main",status="paid"} 2\n');
      expect(metrics).toContain('stipend_payments_cents{provider="ctpayer",account="main",status="paid"} 1250\n');
      // The funding check (this process) and the two payments (the worker process), each timed.
      expect(metrics).toContain(`stipend_provider_request_duration_seconds_count{provider="ctpayer",account="main"} ${stack.sandboxes.ctpayer!.requests().length}\n`);
    } finally {
      await worker?.stop();
      dashboard.child.kill('SIGTERM');
    }
    const { code, stdout, stderr } = await dashboard.output;
    expect(code).toBe(0);
    expect(stdout).toBe(`dashboard: http://127.0.0.1:${port}/console/ (queues http://127.0.0.1:${port}/queues, metrics http://127.0.0.1:${port}/metrics, health http://127.0.0.1:${port}/healthz)\n`);
    expect(stderr).toContain('"msg":"dashboard listening"');
    expect(stdout + stderr).not.toContain(PASSWORD);
  });
});
