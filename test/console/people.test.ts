import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditEntries } from '../../src/audit/audit-trail.js';
import type { RunningDashboard } from '../../src/dashboard/server.js';
import { addPerson, signIn, startConsole, type Browser } from '../helpers/console.js';
import { startStack, type TestStack } from '../helpers/stack.js';

/** The people page: admins add, reset and remove people; a password is shown once; no one else may. */

let stack: TestStack;
let console_: RunningDashboard;
let ada: Browser;

beforeAll(async () => {
  stack = await startStack({ providers: ['ctpayer'] });
  console_ = await startConsole(stack);
  await addPerson(stack, 'ada', 'admin');
  await addPerson(stack, 'abe', 'approver');
  ada = await signIn(console_.url, 'ada');
});
afterAll(async () => {
  await console_?.close();
  await stack?.close();
});

const shownPassword = (page: string) => /<code class="password">([^<]+)<\/code>/.exec(page)?.[1];
const sessionsOf = (name: string) => stack.context.redis.smembers(stack.context.keys.personSessions(name));

describe('the people page', () => {
  it('lists everyone with their role and who added them, never a hash', async () => {
    const page = await ada.get('/console/people');
    expect(page.status).toBe(200);
    expect(page.headers.get('cache-control')).toBe('no-store');
    expect(page.text).toMatch(/<th scope="row">ada \(you\)<\/th>\s*<td>admin<\/td>/);
    expect(page.text).toMatch(/<th scope="row">abe<\/th>\s*<td>approver<\/td>\s*<td>[^<]+@[^<]+<\/td>/);
    expect(page.text).toContain('<label for="name">Name');
    expect(page.text).toContain('<label for="role">Role');
    expect(page.text).not.toMatch(/scrypt|password_hash/);
  });

  it('adds a person with a generated password shown once (no-store), who can then sign in', async () => {
    const added = await ada.post('/console/people/add', { name: ' Nina ', role: 'viewer' });
    expect(added.status).toBe(200);
    expect(added.headers.get('cache-control')).toBe('no-store');
    const password = shownPassword(added.text)!;
    expect(password).toMatch(/^[A-Za-z0-9]{20}$/);
    expect(added.text).toMatch(/<th scope="row">nina<\/th>\s*<td>viewer<\/td>\s*<td>console:ada<\/td>/);
    const nina = await signIn(console_.url, 'nina', password);
    expect((await nina.get('/console/audit')).status).toBe(200);
    // Shown once: the list afterwards holds no password.
    expect(shownPassword((await ada.get('/console/people')).text)).toBeUndefined();
  });

  it('refuses a taken name, a bad name or role, with one line and nothing changed', async () => {
    const before = await stack.context.redis.xlen(stack.context.keys.peopleAudit());
    for (const [form, message] of [
      [{ name: 'abe', role: 'viewer' }, 'abe is already a person here'],
      [{ name: 'no spaces', role: 'viewer' }, 'a person&#39;s name is 1-40 lower-case letters'],
      [{ name: 'zed', role: 'root' }, 'Role: one of viewer, submitter, approver, admin'],
      [{ name: 'zed' }, 'Role: one of viewer, submitter, approver, admin'],
    ] as const) {
      const answer = await ada.post('/console/people/add', form);
      expect(answer.status, message).toBe(400);
      expect(answer.text).toContain(message);
      expect(shownPassword(answer.text)).toBeUndefined();
    }
    expect((await ada.post('/console/people/reset', { name: 'nobody' })).text).toContain('there is no person nobody');
    expect(await stack.context.redis.xlen(stack.context.keys.peopleAudit())).toBe(before);
    expect((await stack.context.redis.smembers(stack.context.keys.people())).sort()).toEqual(['abe', 'ada', 'nina']);
  });

  it('reset shows a new password once and ends the person\'s sessions', async () => {
    const abe = await signIn(console_.url, 'abe');
    expect(await sessionsOf('abe')).toHaveLength(1);
    const reset = await ada.post('/console/people/reset', { name: 'abe' });
    expect(reset.status).toBe(200);
    const password = shownPassword(reset.text)!;
    expect(password).toMatch(/^[A-Za-z0-9]{20}$/);
    expect((await abe.get('/console/audit')).headers.get('location')).toBe('/console/sign-in?next=%2Fconsole%2Faudit');
    expect(await sessionsOf('abe')).toEqual([]);
    expect((await (await signIn(console_.url, 'abe', password)).get('/console/audit')).status).toBe(200);
  });

  it('remove ends their sessions; an admin cannot remove themselves', async () => {
    const nina = await signIn(console_.url, 'nina', await newPassword('nina'));
    const removed = await ada.post('/console/people/remove', { name: 'nina' });
    expect(removed.status).toBe(200);
    expect(removed.text).toContain('nina removed');
    expect(removed.text).not.toMatch(/<th scope="row">nina/);
    expect((await nina.get('/console/audit')).status).toBe(303);
    expect(await sessionsOf('nina')).toEqual([]);

    const self = await ada.post('/console/people/remove', { name: 'ada' });
    expect(self.status).toBe(400);
    expect(self.text).toContain('You cannot remove yourself');
    expect(await stack.context.redis.sismember(stack.context.keys.people(), 'ada')).toBe(1);
    expect((await ada.get('/console/people')).status).toBe(200);
  });

  it('records every change in the audit trail, with the admin and the browser\'s address', async () => {
    const trail = [];
    for await (const entry of auditEntries(stack.context)) if (entry.identity === 'console:ada') trail.push(entry);
    expect(trail.map((e) => [e.event, e.details])).toEqual([
      ['person_added', 'nina as viewer'],
      ['password_reset', 'abe'],
      ['password_reset', 'nina'],
      ['person_removed', 'nina'],
    ]);
    expect(trail[0]!.host).toMatch(/ via (::ffff:)?127\.0\.0\.1$/);
  });

  it('answers 403 to anyone but an admin on every people route, and changes nothing', async () => {
    await addPerson(stack, 'sue', 'submitter');
    const abe = await signIn(console_.url, 'abe', await newPassword('abe'));
    const sue = await signIn(console_.url, 'sue');
    const before = await stack.context.redis.xlen(stack.context.keys.peopleAudit());
    for (const browser of [abe, sue]) {
      expect((await browser.get('/console/people')).status).toBe(403);
      await browser.get('/console/audit');
      const add = await browser.post('/console/people/add', { name: 'mallory', role: 'admin' });
      expect([add.status, add.text.includes('may not change who may sign in')]).toEqual([403, true]);
      expect((await browser.post('/console/people/reset', { name: 'ada' })).status).toBe(403);
      expect((await browser.post('/console/people/remove', { name: 'ada' })).status).toBe(403);
    }
    expect(await stack.context.redis.xlen(stack.context.keys.peopleAudit())).toBe(before);
    expect((await stack.context.redis.smembers(stack.context.keys.people())).sort()).toEqual(['abe', 'ada', 'sue']);
    expect((await sue.get('/console/audit')).text).not.toContain('href="/console/people"');
  });

  it('refuses a form without the session\'s token', async () => {
    expect((await ada.post('/console/people/add', { name: 'mallory', role: 'admin' }, { csrf: null })).status).toBe(403);
    expect(await stack.context.redis.sismember(stack.context.keys.people(), 'mallory')).toBe(0);
  });
});

/** Resets a password through the page and answers the one shown. */
async function newPassword(name: string): Promise<string> {
  await ada.get('/console/people');
  return shownPassword((await ada.post('/console/people/reset', { name })).text)!;
}
