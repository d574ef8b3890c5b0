import type { HttpResult } from './http.js';
import type { UndecidedOutcome } from './outcome.js';

type CallKind = 'payment' | 'reversal' | 'change';

/**
 * The rules docs/providers.md ("Rules common to every provider") sets for every provider,
 * applied before an adapter reads its own body: 429 and 503 applied nothing (slow the account
 * down); a lost request or any other 5xx may have applied. Returns undefined when the adapter has
 * to read the response itself. `what` names the call in messages: a payment, a reversal, or another
 * change (a card's).
 */
export function commonOutcome(result: HttpResult, what: CallKind = 'payment'): UndecidedOutcome | undefined {
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
      return undefined;
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
