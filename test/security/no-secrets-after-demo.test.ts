import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import calculateSlot from 'cluster-key-slot';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveConfig } from '../../src/config/load.js';
import { sandboxConfig, sandboxProviders } from '../../src/config/sandbox-accounts.js';
import { clusterSeeds } from '../helpers/cluster-seeds.js';
import type { KeyContents } from '../helpers/redis-contents.js';

/**
 * Issue 13's closing test: after a full demo at the most verbose log level, a search of what it
 * printed (stdout, and stderr with every log line), every Redis key it wrote and every report
 * file finds no credential of the sandbox accounts, no token or access id a sandbox handed out,
 * no PIN and no full card number. This run is also the demo test on the configured Redis (see
 * test/commands/demo.test.ts for the demo without one), so the suite pays for one demo, not two.
 */

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

interface Leftovers {
  prefix: string;
  issuedSecrets: string[];
  keys: KeyContents[];
}

/** The demo on the shared Redis, and on the shared Redis Cluster (REDIS_CLUSTER_NODES), as a user would point it there. */
const TARGETS = [
  { target: 'one Redis', env: (): NodeJS.ProcessEnv => ({}) },
  { target: 'Redis Cluster', env: (): NodeJS.ProcessEnv => ({ REDIS_CLUSTER_NODES: clusterSeeds().join(',') }) },
];

describe.each(TARGETS)('the demo on $target', ({ target, env }) => {
  let dir: string;
  let ran: { code: number | null; stdout: string; stderr: string; startedAt: number; endedAt: number };
  let leftovers: Leftovers;
  let reports: { file: string; text: string }[];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'stipend-no-secrets-'));
    const out = join(dir, 'reports');
    const startedAt = Date.now();
    ran = { ...(await inspectedDemo(out, join(dir, 'leftovers.json'), env())), startedAt, endedAt: Date.now() };
    leftovers = JSON.parse(await readFile(join(dir, 'leftovers.json'), 'utf8')) as Leftovers;
    const files = (await readdir(out, { recursive: true, withFileTypes: true })).filter((entry) => entry.isFile());
    reports = await Promise.all(files.map(async (entry) => ({ file: join(entry.parentPath, entry.name), text: await readFile(join(entry.parentPath, entry.name), 'latin1') })));
  }, 60_000);
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('pays every provider\'s sample manifest on the configured Redis and reconciles, logging nothing at warn or above', () => {
    expect(ran.code, ran.stderr).toBe(0);
    expect(ran.stdout).not.toMatch(/private/);
    expect(ran.stdout).toMatch(target === 'Redis Cluster' ? /^stipend demo: Redis the cluster of redis:/m : /^stipend demo: Redis redis:/m);
    expect(ran.stdout).toMatch(/every paid row matches a payment the sandbox applied, cent for cent/);
    expect((ran.stdout.match(/: matches the report/g) ?? []).length).toBe(sandboxProviders().length);
    // stderr is the log, one JSON line each; at the demo's default level (warn) it would be empty.
    const lines = ran.stderr.split('\n').filter((line) => line !== '');
    expect(lines.length).toBeGreaterThan(20);
    for (const line of lines) expect((JSON.parse(line) as { level: number }).level, line).toBeLessThan(40);
    // Each account's keys in the account's own slot: five accounts, five slots, and one each for the index and the schedules.
    const slots = new Set(leftovers.keys.map((k) => calculateSlot(k.key)));
    expect(slots.size).toBeGreaterThanOrEqual(sandboxProviders().length + 2);
  });

  it('leaves no credential, issued token, PIN or card number in its output, its Redis keys or its reports', () => {
    const secrets = [...configuredSecrets(), ...leftovers.issuedSecrets];
    // PT API's session token and ClientPay's accessId, at least one of each.
    expect(leftovers.issuedSecrets.length).toBeGreaterThanOrEqual(2);

    const places = [
      { where: 'stdout', text: ran.stdout },
      { where: 'stderr', text: ran.stderr },
      ...leftovers.keys.map((k) => ({ where: `redis ${k.type} ${k.key}`, text: `${k.key}\n${k.text}` })),
      ...reports.map((r) => ({ where: r.file, text: r.text })),
    ];
    // Enough was searched for "nothing found" to mean something: the ledger's records of all 50
    // payments, the queues and their events streams, the sessions and rate limits; every payment's
    // log lines; each batch's report and summary and the tax export.
    const bytes = (texts: { text: string }[]) => texts.reduce((sum, t) => sum + t.text.length, 0);
    expect(leftovers.keys.length).toBeGreaterThan(100);
    expect([...new Set(leftovers.keys.map((k) => k.type))]).toEqual(expect.arrayContaining(['hash', 'string', 'zset', 'set', 'stream', 'list']));
    expect(bytes(leftovers.keys)).toBeGreaterThan(30_000);
    expect(ran.stderr.split('\n').length).toBeGreaterThan(50);
    expect(reports.length).toBeGreaterThanOrEqual(2 * sandboxProviders().length + 1);
    expect(bytes(reports)).toBeGreaterThan(10_000);

    const ownTimes = { from: ran.startedAt - DAY_MS, to: ran.endedAt + DAY_MS };
    const found = places.flatMap(({ where, text }) => [
      ...secrets.filter((secret) => containsSecret(text, secret)).map((secret) => `${where}: credential ${secret}`),
      ...cardNumbers(text, ownTimes).map((number) => `${where}: card number ${number}`),
    ]);
    expect(found).toEqual([]);
  });
});

/** test/helpers/inspected-demo.ts with every log line on (LOG_LEVEL=trace), its output captured whole. */
function inspectedDemo(out: string, leftoversFile: string, env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/helpers/inspected-demo.ts', out, leftoversFile], { cwd: ROOT, env: { ...process.env, ...env, LOG_LEVEL: 'trace' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString('latin1')));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString('latin1')));
    const timer = setTimeout(() => child.kill('SIGKILL'), 50_000);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

it('the search itself finds what it looks for', () => {
  const times = { from: 0, to: 0 };
  expect(cardNumbers('card 4111 1111 1111 1111, 4111-1111-1111-1111 and 378282246310005.', times)).toHaveLength(3);
  expect(cardNumbers('ids a4111111111111111b, 4111111111111112, 2026-01-12, 0.4111111111111111', times)).toEqual([]);
  expect(containsSecret('{"accountPin":"4826"}', '4826')).toBe(true);
  expect(containsSecret('row,4826,next', '4826')).toBe(true);
  expect(containsSecret('amount 4826.00, 0.4826, id 848261', '4826')).toBe(false);
  expect(containsSecret('password=sandbox-password&x=1', 'sandbox-password')).toBe(true);
});

/**
 * Every credential value of the built-in sandbox accounts (the demo's), as the demo resolves them.
 * Usernames are left out: they say who, and `sandbox` is also every account's name.
 */
function configuredSecrets(): string[] {
  const accounts = resolveConfig(sandboxConfig(), 'test').accounts;
  return accounts.flatMap((account) =>
    Object.entries(account.connection().credentials as Record<string, string>)
      .filter(([key]) => !/username$/i.test(key))
      .map(([, value]) => value),
  );
}

/**
 * The secret as a value of its own, not inside a longer word or number (a 4-digit PIN is inside
 * plenty of amounts and ids, `sandbox-account` inside the file name sandbox-accounts.ts).
 */
function containsSecret(text: string, secret: string): boolean {
  const escaped = secret.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`${STANDS_ALONE_BEFORE}${escaped}${STANDS_ALONE_AFTER}`).test(text);
}

// Neither a letter or digit nor a decimal point between digits next to it.
const STANDS_ALONE_BEFORE = '(?<![A-Za-z0-9]|\\d\\.)';
const STANDS_ALONE_AFTER = '(?![A-Za-z0-9]|\\.\\d)';

const DAY_MS = 86_400_000;

/**
 * Luhn-valid runs of 13 to 19 digits standing alone (not inside a hex id, a word or a decimal
 * fraction such as the timing sums), written together or in groups of four split by spaces or dashes. A 13-digit run that is a millisecond
 * time within a day of the demo (BullMQ's and the ledger's timestamps, stream ids), or a 16-digit
 * run that is a microsecond time within it (the payments' epochs), is the demo's own clock, not a
 * card: no card network issues 13- or 16-digit numbers starting with 1.
 */
function cardNumbers(text: string, ownTimes: { from: number; to: number }): string[] {
  const runs = text.match(new RegExp(`${STANDS_ALONE_BEFORE}(?:\\d{13,19}|\\d{4}(?:[ -]\\d{4}){2}[ -]\\d{1,7})${STANDS_ALONE_AFTER}`, 'g')) ?? [];
  return runs.filter((run) => {
    const digits = run.replace(/\D/g, '');
    if (digits.length < 13 || digits.length > 19 || !luhnValid(digits)) return false;
    const asMs = digits.length === 13 ? Number(digits) : digits.length === 16 ? Number(digits) / 1000 : Number.NaN;
    return !(asMs >= ownTimes.from && asMs <= ownTimes.to);
  });
}

/** The check digit test, written here rather than imported: the search must not share a bug with the code it checks. */
function luhnValid(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = Number(digits[digits.length - 1 - i]);
    if (i % 2 === 1) d = d * 2 > 9 ? d * 2 - 9 : d * 2;
    sum += d;
  }
  return sum % 10 === 0;
}
