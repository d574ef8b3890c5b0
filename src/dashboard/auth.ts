import { createHash, timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';
import { DEFAULT_DASHBOARD_USERNAME } from '../config/load.js';
import type { DashboardSignIn } from '../config/schema.js';
import { ConfigError, UsageError } from '../errors.js';

export type Credentials = DashboardSignIn;

const LOOPBACK_HOSTS = new Set(['127.0.0.1', '::1', 'localhost']);

/**
 * Who may sign in: the configured user (`signIn` is asked only here, so --no-auth needs no password
 * set). Without one the dashboard does not start, except with --no-auth on a loopback address,
 * where only this machine can reach it.
 */
export function dashboardCredentials(signIn: () => Credentials | undefined, options: { auth: boolean; host: string }): Credentials | undefined {
  if (!options.auth) {
    if (!LOOPBACK_HOSTS.has(options.host)) throw new UsageError(`--no-auth is allowed only on a loopback address (127.0.0.1, ::1, localhost), not ${options.host}`);
    return undefined;
  }
  const credentials = signIn();
  if (!credentials) {
    throw new ConfigError(
      `the dashboard's sign-in is not configured: set DASHBOARD_PASSWORD (at least 12 characters; the user is DASHBOARD_USERNAME, else ${DEFAULT_DASHBOARD_USERNAME}), or dashboard.password in the configuration, or use --no-auth on 127.0.0.1`,
    );
  }
  return credentials;
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
