import type { HttpResponse, HttpResult } from './http.js';
import type { UndecidedOutcome } from './outcome.js';

type CallKind = 'payment' | 'reversal' | 'change';

/**
 * The rules docs/providers.md ("Rules common to every provider") sets for every provider,
 * applied before an adapter reads its own body: 429 and 503 applied nothing (slow the account
 * down); a lost request or any other 5xx may have applied. Returns the outcome they settle, or the
 * response for the adapter to read. `what` names the call in messages: a payment, a reversal, or
 * another change (a card's).
 */
export function commonOutcome(result: HttpResult, what: CallKind = 'payment'): UndecidedOutcome | HttpResponse {
  switch (result.kind) {
    case 'not-sent':
      return { kind: 'retryable', code: result.error, message: 'could not connect to the provider; nothing was sent', throttled: false };
    case 'lost':
      return { kind: 'unknown', code: 'NO_RESPONSE', message: `no answer from the provider (${result.error}); the ${what} may have been applied` };
    case 'response':
      if (result.status === 429 || result.status === 503) {
        return {
          kind: 'retryable',
          code: `HTTP_${result.status}`,
          message: result.status === 429 ? 'provider rate limit reached' : 'provider temporarily unavailable',
          throttled: true,
          ...(result.retryAfterMs === undefined ? {} : { retryAfterMs: result.retryAfterMs }),
        };
      }
      if (result.status >= 500) {
        return { kind: 'unknown', code: `HTTP_${result.status}`, message: `provider answered HTTP ${result.status}; the ${what} may have been applied` };
      }
      return result;
  }
}

/** A body that should be JSON but is not: the contracts make that an unknown outcome. */
export function parseJsonBody(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

export function unreadable(status: number, what: CallKind = 'payment'): UndecidedOutcome {
  return { kind: 'unknown', code: `HTTP_${status}_UNREADABLE`, message: `provider answered HTTP ${status} with a body that could not be read; the ${what} may have been applied` };
}

/**
 * Looks a wire code up in an adapter's declared table. A code the table does not list is one the
 * provider never documented (or added since): undefined, and the caller applies the policy below.
 */
export function listedCode<Table extends Record<string, unknown>>(table: Table, code: string): Table[keyof Table] | undefined {
  return Object.hasOwn(table, code) ? (table[code] as Table[keyof Table]) : undefined;
}

/**
 * The policy for a code the adapter has never seen, on a call that can move money (a payment, a
 * reversal): `unknown`, never `declined` or `refused`. Nothing says the provider applied nothing,
 * and calling it refused would let the money go twice or be lost from sight; `unknown` lets the rest
 * of the system settle it the provider's way: a resend with the same key (CT Payer, ClientPay), a
 * lookup (PT API), or a person. Calls that move no money (lookups, balances, logins, key requests,
 * checks) read any error code, listed or not, as "no usable answer" (docs/providers.md, "Codes a
 * provider never documented").
 */
export function unlistedCode(code: string, detail: string, what: 'payment' | 'reversal'): UndecidedOutcome {
  const said = detail === '' ? '' : ` (${detail})`;
  return { kind: 'unknown', code, message: `undocumented code ${code}${said}; the ${what} may have been applied` };
}
