import { isSecretName } from './secret-names.js';

/**
 * The one way a URL is printed or logged (a Redis URL, an account's baseUrl, a server's address):
 * what a person needs to tell which server it is, never what lets them sign in to it.
 *
 * - The user part goes whole (`redis://***@host`): the name too, since a name alone there is
 *   often a token (`https://<token>@host`).
 * - Query parameters whose names look secret (secret-names.ts: password, token, key, sig, pin, …,
 *   in any case, also percent-encoded) keep their name and lose their value.
 * - The fragment is dropped.
 *
 * It works on the text as written, not on a parsed URL: WHATWG parsing ends the user part at the
 * first `/`, `?` or `#`, so a password holding one would leak, and a string that is no URL at all
 * would throw. Everything up to the last `@` counts as the user part: over-masking an address with
 * an `@` further on is harmless, a leaked password is not. Nothing else is changed (no trailing `/`
 * added), so a URL with nothing secret prints exactly as given.
 */
export function redactUrl(url: string): string {
  const scheme = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.exec(url)?.[0] ?? '';
  const rest = url.slice(scheme.length);
  const at = rest.lastIndexOf('@');
  const address = withoutFragment(rest.slice(at + 1));
  return `${scheme}${at === -1 ? '' : '***@'}${maskQuery(address)}`;
}

/**
 * Every URL inside a text (an error's message or stack, a log field's reason) through redactUrl. A
 * URL there ends at white space or a quote. file: URLs are paths (stack frames, with `@scope`
 * folders in them), not addresses anyone signs in to, and are left as they are.
 */
export function redactUrlsIn(text: string): string {
  return text.replace(/[A-Za-z][A-Za-z0-9+.-]*:\/\/[^\s"'<>()]*/g, (url) => (/^file:/i.test(url) ? url : redactUrl(url)));
}

function withoutFragment(address: string): string {
  const hash = address.indexOf('#');
  return hash === -1 ? address : address.slice(0, hash);
}

function maskQuery(address: string): string {
  const question = address.indexOf('?');
  if (question === -1) return address;
  const query = address
    .slice(question + 1)
    .split('&')
    .map((pair) => {
      const equals = pair.indexOf('=');
      const name = equals === -1 ? pair : pair.slice(0, equals);
      return equals !== -1 && isSecretName(decodeName(name)) ? `${name}=***` : pair;
    });
  return `${address.slice(0, question + 1)}${query.join('&')}`;
}

/** `%70assword` and `pass+word` as a server would read them; a malformed escape is taken as written. */
function decodeName(name: string): string {
  try {
    return decodeURIComponent(name.replace(/\+/g, ' '));
  } catch {
    return name;
  }
}
