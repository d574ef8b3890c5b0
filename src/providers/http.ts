/**
 * One HTTP exchange with a provider, reduced to what matters for money: did a response come back,
 * was the request never sent, or was it lost on the way (sent, but no answer: may have applied).
 */

export interface HttpRequest {
  method: 'GET' | 'POST';
  url: string;
  headers: Record<string, string>;
  body?: string;
  /**
   * Runs after the account's gate lets the request go and right before it leaves (see
   * PaymentInstruction.beforeSend). If it throws, nothing is sent and send() rejects with its error.
   */
  beforeSend?: () => Promise<void>;
}

export type HttpResult =
  | { kind: 'response'; status: number; retryAfterMs: number | undefined; text: string }
  /** The connection was never made, so the provider cannot have acted on the request. */
  | { kind: 'not-sent'; error: string }
  /** Sent (or possibly sent) with no complete answer: the provider may have acted on it. */
  | { kind: 'lost'; error: string };

export type HttpSend = (request: HttpRequest) => Promise<HttpResult>;

/** Wraps each request, e.g. in the account's shared rate limiter. */
export type RequestGate = <T>(send: () => Promise<T>) => Promise<T>;

// Errors raised before a single byte reached the provider.
const NOT_CONNECTED = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_CONNECT_TIMEOUT']);

/** How long one request waited at the gate (rate limit, Retry-After pause) and then took to answer. */
export interface RequestTiming {
  waitMs: number;
  durationMs: number;
}

/**
 * `observe` hears of every request that left, after its answer (or failure); it must not throw,
 * since the result it follows may be a payment's.
 */
export function createHttpSender(options: { timeoutMs: number; gate?: RequestGate; observe?: (timing: RequestTiming) => void }): HttpSend {
  const gate: RequestGate = options.gate ?? ((send) => send());
  return (request) => {
    const queuedAt = performance.now();
    return gate(async () => {
      const waitMs = performance.now() - queuedAt;
      await request.beforeSend?.();
      const sentAt = performance.now();
      const result = await exchange(request, options.timeoutMs);
      options.observe?.({ waitMs, durationMs: performance.now() - sentAt });
      return result;
    });
  };
}

async function exchange(request: HttpRequest, timeoutMs: number): Promise<HttpResult> {
  try {
    const response = await fetch(request.url, {
      method: request.method,
      headers: request.headers,
      body: request.body,
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await response.text();
    return { kind: 'response', status: response.status, retryAfterMs: parseRetryAfter(response.headers.get('retry-after')), text };
  } catch (error) {
    const code = errorCode(error);
    if (code && NOT_CONNECTED.has(code)) return { kind: 'not-sent', error: code };
    if (error instanceof Error && error.name === 'TimeoutError') return { kind: 'lost', error: `no answer within ${timeoutMs} ms` };
    return { kind: 'lost', error: code ?? (error instanceof Error ? error.message : String(error)) };
  }
}

function errorCode(error: unknown): string | undefined {
  const cause = (error as { cause?: { code?: unknown } } | undefined)?.cause;
  return typeof cause?.code === 'string' ? cause.code : undefined;
}

/** Retry-After in seconds (the only form the contracts use); an HTTP date is honoured too. */
export function parseRetryAfter(value: string | null): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}
