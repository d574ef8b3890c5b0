import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';

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
  const agents = keepAliveAgents();
  return (request) => {
    const queuedAt = performance.now();
    return gate(async () => {
      const waitMs = performance.now() - queuedAt;
      await request.beforeSend?.();
      const sentAt = performance.now();
      const result = await exchange(agents, request, options.timeoutMs);
      options.observe?.({ waitMs, durationMs: performance.now() - sentAt });
      return result;
    });
  };
}

// A socket left idle this long is closed by us, before a provider's own idle timeout could close it
// as a request leaves on it (which would leave that payment's outcome unknown). A shorter hint in the
// provider's Keep-Alive header wins (Node's agent reads it).
const IDLE_SOCKET_MS = 4000;

/** Connections kept open between requests: a payment does not pay for a TCP (and TLS) handshake. */
function keepAliveAgents(): { http: HttpAgent; https: HttpsAgent } {
  return { http: new HttpAgent({ keepAlive: true, timeout: IDLE_SOCKET_MS }), https: new HttpsAgent({ keepAlive: true, timeout: IDLE_SOCKET_MS }) };
}

/**
 * node:http rather than fetch: a fraction of the CPU per request (fetch builds web streams around
 * every body). Whether the request can have reached the provider is told by the connection: an
 * error or the timeout before it was made means nothing was sent; after it, the answer was lost.
 */
function exchange(agents: { http: HttpAgent; https: HttpsAgent }, request: HttpRequest, timeoutMs: number): Promise<HttpResult> {
  return new Promise((resolve) => {
    const url = new URL(request.url);
    const secure = url.protocol === 'https:';
    const body = request.body === undefined ? undefined : Buffer.from(request.body, 'utf8');
    const headers = body === undefined ? request.headers : { ...request.headers, 'content-length': String(body.length) };
    const req = (secure ? httpsRequest : httpRequest)(url, { method: request.method, headers, agent: secure ? agents.https : agents.http });
    let connected = false;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      req.destroy();
    }, timeoutMs);
    const finish = (result: HttpResult) => {
      clearTimeout(timer);
      resolve(result);
    };
    const failed = (error: unknown) => {
      const reason = timedOut ? `no answer within ${timeoutMs} ms` : (errorCode(error) ?? (error instanceof Error ? error.message : String(error)));
      finish(connected ? { kind: 'lost', error: reason } : { kind: 'not-sent', error: timedOut ? 'CONNECT_TIMEOUT' : reason });
    };
    req.on('socket', (socket) => {
      if (!socket.connecting) connected = true;
      else socket.once('connect', () => (connected = true));
    });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const retryAfter = res.headers['retry-after'];
        finish({ kind: 'response', status: res.statusCode ?? 0, retryAfterMs: parseRetryAfter(retryAfter ?? null), text: Buffer.concat(chunks).toString('utf8') });
      });
      // The connection broke (or the timeout struck) before the whole answer was in.
      res.on('close', () => {
        if (!res.complete) failed(new Error('the connection closed before the whole answer arrived'));
      });
    });
    req.on('error', failed);
    req.end(body);
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
