import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditEntries } from '../../src/audit/audit-trail.js';
import type { RunningDashboard } from '../../src/dashboard/server.js';
import { signIn, startConsole } from '../helpers/console.js';
import { startStack, type TestStack } from '../helpers/stack.js';
import { stipend } from '../helpers/stipend-process.js';

/** `stipend users`: the console's people managed at the command line, as an operator runs it. */

let stack: TestStack;
let console_: RunningDashboard;
beforeAll(async () => {
  stack = await startStack({ providers: ['ctpayer'] });
  console_ = await startConsole(stack);
});
afterAll(async () => {
  await console_?.close();
  await stack?.close();
});

const users = (args: string[], input?: string) => stipend(['--config', stack.configFile, 'users', ...args], input === undefined ? {} : { input });
const shownPassword = (stdout: string) => /^password: (\S+)$/m.exec(stdout)?.[1];

/** A one-line error with exit code 2, never a stack trace. */
function expectOneLineUsageError(result: { code: number | null; stderr: string }, message: RegExp) {
  expect(result.code).toBe(2);
  expect(result.stderr).toMatch(message);
  expect(result.stderr.trim().split('\n')).toHaveLength(1);
}

describe('stipend users', () => {
  it('adds a person with a password printed once, who can then sign in; list shows them without a hash', async () => {
    const added = await users(['add', 'uma', '--role', 'approver']);
    expect(added.code).toBe(0);
    const password = shownPassword(added.stdout)!;
    expect(password).toMatch(/^[A-Za-z0-9]{20}$/);
    const uma = await signIn(console_.url, 'uma', password);
    expect((await uma.get('/console/audit')).status).toBe(200);

    const listed = await users(['list', '--json']);
    expect(listed.code).toBe(0);
    const everyone = JSON.parse(listed.stdout) as Record<string, string>[];
    expect(everyone).toEqual([{ name: 'uma', role: 'approver', added_by: expect.stringMatching(/.+@.+/), added: expect.any(String), password_set: expect.any(String) }]);
    expect(Date.parse(everyone[0]!.added!)).toBeGreaterThan(Date.now() - 120_000);
    const human = await users(['list']);
    expect(human.stdout).toMatch(/^uma\tapprover\tadded by \S+@\S+ \d{4}-\d\d-\d\dT/m);
    expect(listed.stdout + human.stdout).not.toContain('scrypt');
  });

  it('takes a password from standard input for scripts, and prints none', async () => {
    const added = await users(['add', 'stan', '--role', 'viewer', '--password-stdin'], 'stan\'s own long password\nignored second line\n');
    expect(added.code).toBe(0);
    expect(shownPassword(added.stdout)).toBeUndefined();
    expect(added.stdout).not.toContain('stan\'s own long password');
    const stan = await signIn(console_.url, 'stan', 'stan\'s own long password');
    expect((await stan.get('/console/audit')).status).toBe(200);
  });

  it('reset gives a new password and ends the person\'s console sessions', async () => {
    await users(['add', 'rita', '--role', 'viewer', '--password-stdin'], 'rita first password\n');
    const rita = await signIn(console_.url, 'rita', 'rita first password');
    expect((await rita.get('/console/audit')).status).toBe(200);

    const reset = await users(['reset', 'rita']);
    expect(reset.code).toBe(0);
    const password = shownPassword(reset.stdout)!;
    const after = await rita.get('/console/audit');
    expect([after.status, after.headers.get('location')]).toEqual([303, '/console/sign-in?next=%2Fconsole%2Faudit']);
    await expect(signIn(console_.url, 'rita', 'rita first password')).rejects.toThrow(/answered 401/);
    expect((await (await signIn(console_.url, 'rita', password)).get('/console/audit')).status).toBe(200);
  });

  it('remove ends their sessions and they can no longer sign in; every change is in the audit trail', async () => {
    await users(['add', 'otto', '--role', 'submitter', '--password-stdin'], 'otto long password\n');
    const otto = await signIn(console_.url, 'otto', 'otto long password');
    expect((await users(['remove', 'otto'])).code).toBe(0);
    expect((await otto.get('/console/audit')).status).toBe(303);
    expect(await stack.context.redis.exists(stack.context.keys.personSessions('otto'))).toBe(0);
    await expect(signIn(console_.url, 'otto', 'otto long password')).rejects.toThrow(/answered 401/);
    expect(JSON.parse((await users(['list', '--json'])).stdout).map((p: { name: string }) => p.name)).not.toContain('otto');

    const trail = [];
    for await (const entry of auditEntries(stack.context)) trail.push(entry);
    const otto_ = trail.filter((e) => e.details?.startsWith('otto'));
    expect(otto_.map((e) => [e.event, e.details, e.batch_id])).toEqual([['person_added', 'otto as submitter', ''], ['person_removed', 'otto', '']]);
    expect(otto_[0]!.identity).toMatch(/^[^:]+@/);
    expect(trail.filter((e) => e.event === 'password_reset').map((e) => e.details)).toEqual(['rita']);
  });

  it('refuses a taken name, an unknown person, a short password, a bad role or name: one line, exit 2, nothing changed', async () => {
    const before = await stack.context.redis.xlen(stack.context.keys.peopleAudit());
    expectOneLineUsageError(await users(['add', 'uma', '--role', 'viewer']), /^stipend: uma is already a person here/);
    expectOneLineUsageError(await users(['reset', 'nobody']), /^stipend: there is no person nobody$/m);
    expectOneLineUsageError(await users(['remove', 'nobody']), /^stipend: there is no person nobody$/m);
    expectOneLineUsageError(await users(['add', 'shorty', '--role', 'viewer', '--password-stdin'], 'too short\n'), /^stipend: a password has at least 12 characters$/m);
    expectOneLineUsageError(await users(['reset', 'uma', '--password-stdin'], ''), /^stipend: a password has at least 12 characters$/m);
    expectOneLineUsageError(await users(['add', 'bo', '--role', 'boss']), /^stipend: --role must be one of viewer, submitter, approver, admin$/m);
    expectOneLineUsageError(await users(['add', 'Bad Name', '--role', 'viewer']), /^stipend: a person's name is 1-40 lower-case letters/);
    expectOneLineUsageError(await users(['add', 'nobody-role']), /--role/);
    expect(await stack.context.redis.xlen(stack.context.keys.peopleAudit())).toBe(before);
    expect(JSON.parse((await users(['list', '--json'])).stdout).map((p: { name: string }) => p.name)).toEqual(['rita', 'stan', 'uma']);
  });
});
