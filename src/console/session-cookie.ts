import { parse, serialize } from 'cookie';
import { sign, unsign } from 'cookie-signature';
import type { Request, Response } from 'express';

/**
 * The browser's half of a console session: the session's id, signed (HMAC-SHA256, cookie-signature)
 * with the secret every dashboard process shares, `HttpOnly` (no script reads it), `SameSite=Strict`
 * (no other site's page sends it), `Secure` when the console is reached over HTTPS, and no
 * `Max-Age`: it ends with the browser, and the session in Redis ends sooner when idle.
 */
export const SESSION_COOKIE = 'stipend_session';

/** The sign-in form's own token (double-submit): a page elsewhere cannot sign a browser in as someone else. */
export const SIGN_IN_COOKIE = 'stipend_sign_in';

export function readSigned(request: Request, name: string, secret: string): string | undefined {
  const value = parse(request.headers.cookie ?? '')[name];
  if (value === undefined) return undefined;
  const unsigned = unsign(value, secret);
  return unsigned === false ? undefined : unsigned;
}

export function writeSigned(request: Request, response: Response, name: string, value: string, secret: string): void {
  response.append('Set-Cookie', serialize(name, sign(value, secret), { httpOnly: true, sameSite: 'strict', secure: request.secure, path: '/' }));
}

export function clearCookie(request: Request, response: Response, name: string): void {
  response.append('Set-Cookie', serialize(name, '', { httpOnly: true, sameSite: 'strict', secure: request.secure, path: '/', maxAge: 0 }));
}
