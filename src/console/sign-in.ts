import { randomBytes } from 'node:crypto';
import express, { type Router } from 'express';
import type { Logger } from '../log.js';
import type { People } from '../people/people.js';
import type { Sessions } from '../people/sessions.js';
import type { SignInThrottle } from '../people/sign-in-throttle.js';
import { addressOf, csrfChecked, sameOrigin, signInRequired, signedIn, tokensMatch } from './guard.js';
import { html } from './html.js';
import { notice, page } from './layout.js';
import { SESSION_COOKIE, SIGN_IN_COOKIE, clearCookie, readSigned, writeSigned } from './session-cookie.js';

/**
 * Signing in and out. A sign-in starts a new session (never one the browser brought: no session
 * fixation); signing out ends it in Redis, so at every dashboard process at once; "sign out
 * everywhere" ends all of the person's sessions.
 */
export function signInRoutes(deps: { people: People; sessions: Sessions; throttle: SignInThrottle; secret: string; log: Logger }): Router {
  const { people, sessions, throttle, secret, log } = deps;
  const router = express.Router();
  const form = express.urlencoded({ extended: false, limit: '8kb' });

  router.get('/console/sign-in', (request, response) => {
    const token = randomBytes(32).toString('base64url');
    writeSigned(request, response, SIGN_IN_COOKIE, token, secret);
    response.type('html').send(signInPage(token, nextPath(request.query.next)));
  });

  router.post('/console/sign-in', form, async (request, response) => {
    const name = String(request.body?.name ?? '').trim().toLowerCase();
    const password = String(request.body?.password ?? '');
    const address = addressOf(request);
    const expected = readSigned(request, SIGN_IN_COOKIE, secret);
    const token = randomBytes(32).toString('base64url');
    writeSigned(request, response, SIGN_IN_COOKIE, token, secret);
    const again = (status: number, message: string) => response.status(status).type('html').send(signInPage(token, nextPath(request.body?.next), message));
    if (!sameOrigin(request) || expected === undefined || !tokensMatch(String(request.body?._sign_in ?? ''), expected)) {
      return again(403, 'This sign-in form did not come from the console (cross-site request refused). Please sign in here.');
    }
    const wait = await throttle.waitMs(name, address);
    if (wait > 0) {
      const seconds = Math.ceil(wait / 1000);
      response.set('Retry-After', String(seconds));
      return again(429, `Too many failed sign-ins. Try again in ${seconds} second${seconds === 1 ? '' : 's'}.`);
    }
    const person = await people.authenticate(name, password);
    if (!person) {
      await throttle.failed(name, address);
      log.warn({ name, address }, 'console sign-in refused');
      return again(401, 'That name and password do not match a person here.');
    }
    await throttle.succeeded(name, address);
    const session = await sessions.start(person.name, address);
    writeSigned(request, response, SESSION_COOKIE, session.id, secret);
    clearCookie(request, response, SIGN_IN_COOKIE);
    log.info({ name: person.name, role: person.role, address }, 'console sign-in');
    response.redirect(303, nextPath(request.body?.next));
  });

  const required = signInRequired(people, sessions, secret);
  router.post('/console/sign-out', form, required, csrfChecked, async (_request, response) => {
    const { session } = signedIn(response);
    await sessions.end(session.id, session.name);
    clearCookie(_request, response, SESSION_COOKIE);
    response.redirect(303, '/console/sign-in');
  });
  router.post('/console/sign-out-everywhere', form, required, csrfChecked, async (request, response) => {
    const { session } = signedIn(response);
    await sessions.endAllOf(session.name);
    clearCookie(request, response, SESSION_COOKIE);
    response.redirect(303, '/console/sign-in');
  });
  return router;
}

/** Where to go after signing in: a console page only, never another site (an open redirect). */
function nextPath(value: unknown): string {
  return typeof value === 'string' && /^\/console\/[A-Za-z0-9/_.?=&%-]*$/.test(value) && !value.startsWith('/console/sign-') ? value : '/console/batches';
}

function signInPage(token: string, next: string, message?: string): string {
  return page({
    title: 'Sign in',
    body: html`${notice(message, 'bad')}
<form class="stack" method="post" action="/console/sign-in">
<input type="hidden" name="_sign_in" value="${token}">
<input type="hidden" name="next" value="${next}">
<label for="name">Name<input id="name" name="name" autocomplete="username" required autofocus></label>
<label for="password">Password<input id="password" name="password" type="password" autocomplete="current-password" required></label>
<button type="submit">Sign in</button>
</form>
<p>No account yet? An administrator adds people with <code>stipend users add &lt;name&gt; --role &lt;role&gt;</code>.</p>`,
  });
}
