import { timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { type Actor, consolePerson } from '../audit/actor.js';
import type { Person, People } from '../people/people.js';
import { type Action, may } from '../people/roles.js';
import type { Session, Sessions } from '../people/sessions.js';
import { SESSION_COOKIE, readSigned } from './session-cookie.js';

/** Who is signed in on this request, put there by `signInRequired`. */
export interface SignedIn {
  person: Person;
  session: Session;
  /** The person as the audit trail and maker-checker know them: `console:<name>` via their address. */
  actor: Actor;
}

export function signedIn(response: Response): SignedIn {
  return response.locals.signedIn as SignedIn;
}

/** The address a request came from, as the audit trail records it (the proxy's, unless `trust proxy` is configured). */
export function addressOf(request: Request): string {
  return request.ip ?? request.socket.remoteAddress ?? 'unknown';
}

/**
 * Every console page but the sign-in needs a live session of a person who still exists; their role
 * is read afresh on every request, so a change or a removal takes effect at once. Pages answer a
 * browser without one with the sign-in page; fetches and event streams with 401.
 */
export function signInRequired(people: People, sessions: Sessions, secret: string): RequestHandler {
  return async (request, response, next) => {
    const id = readSigned(request, SESSION_COOKIE, secret);
    const session = id === undefined ? undefined : await sessions.use(id);
    const person = session === undefined ? undefined : await people.get(session.name);
    if (!session || !person) {
      if (request.method === 'GET' && request.accepts(['html', 'text/event-stream']) === 'html') {
        return response.redirect(303, `/console/sign-in?next=${encodeURIComponent(request.originalUrl)}`);
      }
      return response.status(401).type('text/plain').send('sign-in required\n');
    }
    response.locals.signedIn = { person, session, actor: consolePerson(person.name, addressOf(request)) } satisfies SignedIn;
    next();
  };
}

/** Refuses (403) a person whose role does not grant `action`; the refusal names what it needs. */
export function allowed(action: Action): RequestHandler {
  return (_request, response, next) => {
    const { person } = signedIn(response);
    if (may(person.role, action)) return next();
    next(new ForbiddenError(`${person.name} is a ${person.role}; a ${person.role} may not ${ACTION_WORDS[action]}`));
  };
}

const ACTION_WORDS: Record<Action, string> = {
  read: 'read this',
  submit: 'submit manifests',
  decide: 'approve, cancel, resolve or reverse',
  'manage-people': 'change who may sign in',
};

/** A request the signed-in person may not make (their role), or one that did not come from the console (CSRF): 403. */
export class ForbiddenError extends Error {
  readonly status = 403;
}

/**
 * Cross-site request forgery, refused on every state-changing request, twice over:
 *  - the browser says where the request comes from (Sec-Fetch-Site, else Origin): it must be this
 *    console itself; a page on another origin (even another port of the same host, which
 *    SameSite does not cover) is refused;
 *  - the form carries the session's CSRF token (`_csrf`), which only this console's pages hold.
 */
export function sameOrigin(request: Request): boolean {
  const site = request.get('sec-fetch-site');
  if (site !== undefined) return site === 'same-origin' || site === 'none';
  const origin = request.get('origin');
  return origin === undefined || origin === `${request.protocol}://${request.get('host')}`;
}

export function csrfChecked(request: Request, response: Response, next: NextFunction): void {
  const given = typeof request.body?._csrf === 'string' ? (request.body._csrf as string) : '';
  const expected = signedIn(response).session.csrf;
  if (!sameOrigin(request) || !tokensMatch(given, expected)) {
    return next(new ForbiddenError('this form did not come from the console (cross-site request refused); reload the page and try again'));
  }
  next();
}

export function tokensMatch(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}
