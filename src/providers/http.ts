import { Agent, type Dispatcher } from 'undici';

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

/** A complete answer, whatever its status. */
export interface HttpResponse {
  kind: 'response';
  status: number;
  retryAfterMs: number | undefined;
  text: string;
}

export type HttpResult =
  | HttpResponse
  /** The connection was never made, so the provider cannot have acted on the request. */
  | { kind: 'not-sent'; error: string }
  /** Sent (or possibly sent) with no complete answer: the provider may have acted on it. */
  | { kind: 'lost'; error: string };

export type HttpSend = (request: HttpRequest) => Promise<HttpResult>;

/** Wraps each request, e.g. in the account's shared rate limiter. */
export type RequestGate = <T>(send: () => Promise<T>) => Promise<T>;

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
  const agent = keepAliveAgent();
  return (request) => {
    const queuedAt = performance.now();
    return gate(async () => {
      const waitMs = performance.now() - queuedAt;
      // Before beforeSend: the ledger's mark (its time taken by Redis) is made after this moment.
      const markedBy = performance.now();
      await request.beforeSend?.();
      const sentAt = performance.now();
      const result = await exchange(agent, request, options.timeoutMs, markedBy);
      options.observe?.({ waitMs, durationMs: performance.now() - sentAt });
      return result;
    });
  };
}

// A socket left idle this long is closed by us, before a provider's own idle timeout could close it
// as a request leaves on it (which would leave that payment's outcome unknown). A shorter hint in the
// provider's Keep-Alive header wins (undici reads it).
const IDLE_SOCKET_MS = 4000;

/**
 * Connections kept open between requests (a payment does not pay for a TCP and TLS handshake), one
 * request at a time on each: never pipelined, so a broken connection can only leave one answer lost.
 */
function keepAliveAgent(): Agent {
  return new Agent({ keepAliveTimeout: IDLE_SOCKET_MS, keepAliveMaxTimeout: IDLE_SOCKET_MS, pipelining: 1 });
}

/**
 * undici's dispatcher rather than node:http or fetch: about half node:http's CPU per request, and
 * fetch wraps every body in web streams. Whether a request can have reached the provider is told by
 * undici: `onRequestStart` runs right before the request is written to a connected socket. An error,
 * or the timeout, before it means nothing was sent; after it, the answer was lost. `markedBy` is
 * a moment before the payment's sending mark: the request is not written once timeoutMs has passed
 * since then.
 */
function exchange(agent: Agent, request: HttpRequest, timeoutMs: number, markedBy: number): Promise<HttpResult> {
  return new Promise((resolve) => {
    const url = new URL(request.url);
    let written = false;
    let timedOut = false;
    let settled = false;
    let controller: Dispatcher.DispatchController | undefined;
    const chunks: Buffer[] = [];
    let status = 0;
    let retryAfter: string | undefined;
    const finish = (result: HttpResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(result);
    };
    const failed = (error: unknown) => {
      const reason = timedOut ? `no answer within ${timeoutMs} ms` : (errorCode(error) ?? (error instanceof Error ? error.message : String(error)));
      finish(written ? { kind: 'lost', error: reason } : { kind: 'not-sent', error: timedOut ? 'CONNECT_TIMEOUT' : reason });
    };
    const timer = setTimeout(() => {
      timedOut = true;
      // Not yet on a socket: it is answered not-sent now, and aborted before undici could write it.
      if (!written) failed(undefined);
      controller?.abort(new Error('timeout'));
    }, timeoutMs);
    agent.dispatch(
      { origin: url.origin, path: url.pathname + url.search, method: request.method, headers: request.headers, ...(request.body === undefined ? {} : { body: request.body }) },
      {
        onRequestStart(started) {
          controller = started;
          // A process that stalled (a paused VM, SIGSTOP) since its sending mark never sends late: once
          // timeoutMs has passed, another run may take the payment up as no longer under way.
          if (!timedOut && performance.now() - markedBy >= timeoutMs) {
            timedOut = true;
            failed(undefined);
          }
          if (timedOut) started.abort(new Error('timeout'));
          else written = true;
        },
        onResponseStart(_controller, statusCode, headers) {
          status = statusCode;
          const value = headers['retry-after'];
          retryAfter = Array.isArray(value) ? value[0] : value;
        },
        onResponseData(_controller, chunk) {
          chunks.push(chunk);
        },
        onResponseEnd() {
          finish({ kind: 'response', status, retryAfterMs: parseRetryAfter(retryAfter ?? null), text: Buffer.concat(chunks).toString('utf8') });
        },
        // The connection failed or broke, or the timeout struck, before the whole answer was in.
        onResponseError(_controller, error) {
          failed(error);
        },
      },
    );
  });
}

function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** Retry-After in seconds (the only form the contracts use); an HTTP date is honoured too. */
export function parseRetryAfter(value: string | null): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}
