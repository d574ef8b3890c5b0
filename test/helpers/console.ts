import { join } from 'node:path';
import { personHere } from '../../src/audit/actor.js';
import { startDashboard, type RunningDashboard } from '../../src/dashboard/server.js';
import { createLogger } from '../../src/log.js';
import { People } from '../../src/people/people.js';
import type { Role } from '../../src/people/roles.js';
import type { TestStack } from './stack.js';

/**
 * The console of a test stack, reached over real HTTP, and people signed in to it with fetch: each
 * `Browser` keeps its session cookie and the CSRF token of the last page it read, as a browser would.
 */
export async function startConsole(stack: TestStack): Promise<RunningDashboard> {
  return startDashboard({
    config: stack.config, host: '127.0.0.1', port: 0, engineers: { kind: 'open' }, readOnly: true,
    log: createLogger({ level: 'silent' }), uploadsDir: join(stack.dir, 'uploads'),
  });
}

export const PASSWORD = 'a long test password';

/** Adds a person with PASSWORD, as an administrator at the command line would. */
export async function addPerson(stack: TestStack, name: string, role: Role): Promise<void> {
  await new People(stack.context.redis, stack.context.keys).add(name, role, PASSWORD, personHere());
}

export interface Browser {
  /** GET a console path; remembers the page's CSRF token. */
  get(path: string): Promise<{ status: number; text: string; headers: Headers }>;
  /** POST a form (urlencoded, or multipart when given FormData) with the remembered CSRF token added. */
  post(path: string, form: Record<string, string> | FormData, options?: { csrf?: string | null; origin?: string }): Promise<{ status: number; text: string; headers: Headers }>;
  csrf: string | undefined;
}

export async function signIn(url: string, name: string, password = PASSWORD): Promise<Browser> {
  const cookies = new Map<string, string>();
  const remember = (headers: Headers) => {
    for (const line of headers.getSetCookie()) {
      const [pair] = line.split(';');
      const at = pair!.indexOf('=');
      const [key, value] = [pair!.slice(0, at), pair!.slice(at + 1)];
      if (value === '') cookies.delete(key);
      else cookies.set(key, value);
    }
  };
  const cookieHeader = () => [...cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  const browser: Browser = {
    csrf: undefined,
    async get(path) {
      const response = await fetch(`${url}${path}`, { headers: { cookie: cookieHeader() }, redirect: 'manual' });
      remember(response.headers);
      const text = await response.text();
      const token = /name="_csrf" value="([^"]+)"/.exec(text)?.[1];
      if (token) browser.csrf = token;
      return { status: response.status, text, headers: response.headers };
    },
    async post(path, form, options = {}) {
      const csrf = options.csrf === undefined ? browser.csrf : options.csrf;
      let body: FormData | URLSearchParams;
      if (form instanceof FormData) {
        body = form;
        if (csrf !== null && csrf !== undefined && !form.has('_csrf')) form.set('_csrf', csrf);
      } else {
        body = new URLSearchParams({ ...(csrf === null || csrf === undefined ? {} : { _csrf: csrf }), ...form });
      }
      const response = await fetch(`${url}${path}`, {
        method: 'POST', body, redirect: 'manual',
        headers: { cookie: cookieHeader(), origin: options.origin ?? url },
      });
      remember(response.headers);
      return { status: response.status, text: await response.text(), headers: response.headers };
    },
  };
  const form = await fetch(`${url}/console/sign-in`, { redirect: 'manual' });
  remember(form.headers);
  const token = /name="_sign_in" value="([^"]+)"/.exec(await form.text())![1]!;
  const answer = await fetch(`${url}/console/sign-in`, {
    method: 'POST', redirect: 'manual',
    body: new URLSearchParams({ _sign_in: token, name, password }),
    headers: { cookie: cookieHeader(), origin: url },
  });
  remember(answer.headers);
  if (answer.status !== 303) throw new Error(`sign-in of ${name} answered ${answer.status}: ${await answer.text()}`);
  return browser;
}
