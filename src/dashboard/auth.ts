import { createHash, timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';
import type { DashboardSignIn } from '../config/schema.js';
import { allowed, signInRequired } from '../console/guard.js';
import { UsageError } from '../errors.js';
import type { People } from '../people/people.js';
import type { Sessions } from '../people/sessions.js';

export type Credentials = DashboardSignIn;

/**
 * Who may see the engineers' pages (/metrics, /queues): the configured Basic sign-in (Prometheus
 * needs one), else people signed in to the console as admins, else (--no-auth, loopback only) anyone
 * who can reach the address. The console itself always needs a person's own sign-in.
 */
export type EngineersSignIn = { kind: 'basic'; credentials: Credentials } | { kind: 'console-admins' } | { kind: 'open' };

const LOOPBACK_HOSTS = new Set(['127.0.0.1', '::1', 'localhost']);

/**
 * Who may see /metrics and /queues: the configured Basic user (`signIn` is asked only here, so
 * --no-auth needs no password set), else the console's admins. --no-auth opens them, on a loopback
 * address only, where only this machine can reach them.
 */
export function dashboardSignIn(signIn: () => Credentials | undefined, options: { auth: boolean; host: string }): EngineersSignIn {
  if (!options.auth) {
    if (!LOOPBACK_HOSTS.has(options.host)) throw new UsageError(`--no-auth is allowed only on a loopback address (127.0.0.1, ::1, localhost), not ${options.host}`);
    return { kind: 'open' };
  }
  const credentials = signIn();
  return credentials ? { kind: 'basic', credentials } : { kind: 'console-admins' };
}

/** /metrics and /queues for people signed in to the console as admins (when no Basic sign-in is configured). */
export async function consoleAdmins(people: People, sessions: Sessions): Promise<RequestHandler[]> {
  return [signInRequired(people, sessions, await sessions.cookieSecret()), allowed('manage-people')];
}

/**
 * HTTP Basic authentication. User name and password are both compared, always, in constant time
 * and as SHA-256 digests (equal lengths), so neither a wrong name nor a password's length shows in
 * how long a refusal takes.
 */
export function basicAuth(expected: Credentials): RequestHandler {
  const username = digest(expected.username);
  const password = digest(expected.password);
  return (request, response, next) => {
    const given = parseBasic(request.headers.authorization);
    const nameMatches = timingSafeEqual(digest(given?.username ?? ''), username);
    const passwordMatches = timingSafeEqual(digest(given?.password ?? ''), password);
    if (given && nameMatches && passwordMatches) return next();
    response.set('WWW-Authenticate', 'Basic realm="stipend dashboard", charset="UTF-8"').status(401).type('text/plain').send('sign-in required\n');
  };
}

function parseBasic(header: string | undefined): Credentials | undefined {
  const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? '');
  if (!match) return undefined;
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? undefined : { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}
