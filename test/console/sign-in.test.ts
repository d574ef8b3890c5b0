import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningDashboard } from '../../src/dashboard/server.js';
import { PASSWORD, addPerson, signIn, startConsole } from '../helpers/console.js';
import { startStack, type TestStack } from '../helpers/stack.js';

let stack: TestStack;
let console_: RunningDashboard;

beforeAll(async () => {
  stack = await startStack({ providers: ['ctpayer'] });
  console_ = await startConsole(stack);
  await addPerson(stack, 'vera', 'viewer');
  await addPerson(stack, 'sam', 'submitter');
});
afterAll(async () => {
  await console_?.close();
  await stack?.close();
});

async function signInForm(name: string, password: string, origin?: string) {
  const form = await fetch(`${console_.url}/console/sign-in`);
  const cookie = form.headers.getSetCookie()[0]!.split(';')[0]!;
  const token = /name="_sign_in" value="([^"]+)"/.exec(await form.text())![1]!;
  return fetch(`${console_.url}/console/sign-in`, {
    method: 'POST', redirect: 'manual', body: new URLSearchParams({ _sign_in: token, name, password }),
    headers: { cookie, origin: origin ?? console_.url },
  });
}

describe('signing in to the console', () => {
  it('sends a browser without a session to the sign-in page, and answers fetches 401', async () => {
    const page = await fetch(`${console_.url}/console/batches`, { redirect: 'manual', headers: { accept: 'text/html' } });
    expect([page.status, page.headers.get('location')]).toEqual([303, '/console/sign-in?next=%2Fconsole%2Fbatches']);
    const data = await fetch(`${console_.url}/console/events`, { headers: { accept: 'text/event-stream' } });
    expect(data.status).toBe(401);
  });

  it('sets a signed HttpOnly SameSite=Strict session cookie, and a strict CSP without inline script', async () => {
    const answer = await signInForm('vera', PASSWORD);
    expect(answer.status).toBe(303);
    const session = answer.headers.getSetCookie().find((line) => line.startsWith('stipend_session='))!;
    expect(session).toMatch(/HttpOnly/);
    expect(session).toMatch(/SameSite=Strict/);
    expect(session).toMatch(/^stipend_session=[A-Za-z0-9_-]{43}\.[A-Za-z0-9%+/=_-]+;/);
    const csp = answer.headers.get('content-security-policy')!;
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain('unsafe-inline');
  });

  it('refuses a wrong password and a sign-in form posted from another origin', async () => {
    expect((await signInForm('vera', 'not the password at all')).status).toBe(401);
    expect((await signInForm('vera', PASSWORD, 'http://127.0.0.1:1')).status).toBe(403);
  });

  it('slows repeated failures: after five, even the right password waits', async () => {
    for (let i = 0; i < 5; i += 1) expect((await signInForm('sam', `wrong password ${i}`)).status).toBe(401);
    const right = await signInForm('sam', PASSWORD);
    expect(right.status).toBe(429);
    expect(Number(right.headers.get('retry-after'))).toBeGreaterThan(0);
  });

  it('ends a session in Redis on sign-out, so its cookie no longer works anywhere', async () => {
    const vera = await signIn(console_.url, 'vera');
    const before = await stack.context.redis.smembers(stack.context.keys.personSessions('vera'));
    expect((await vera.get('/console')).headers.get('location')).toBe('/console/batches');
    expect((await vera.get('/console/batches')).status).toBe(200);
    expect((await vera.post('/console/sign-out', {})).status).toBe(303);
    const after = await stack.context.redis.smembers(stack.context.keys.personSessions('vera'));
    expect(before.length - after.length).toBe(1);
    expect((await vera.get('/console')).headers.get('location')).toMatch(/^\/console\/sign-in/);
  });
});
