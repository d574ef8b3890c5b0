import { setMaxListeners } from 'node:events';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { UsageError } from '../errors.js';
import { type AnswerFault, FaultBook, type FaultRule, faultRulesSchema } from './faults.js';
import { rateLimitSchema, SlidingWindowLog } from './rate-window.js';

/**
 * The provider-independent half of every sandbox: an HTTP server that logs requests, applies the
 * account rate limit and injected faults, keeps the journal of applied transactions and serves the
 * /__sandbox/ admin routes. A provider file only parses its wire format and keeps its balances
 * (a Protocol below); everything a test or an operator steers lives here, the same for all.
 */

export type { FaultRule } from './faults.js';

export interface SandboxOptions {
  /** 0 = ephemeral; default DEFAULT_SANDBOX_PORTS[provider]. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default: the fixtures/<provider>/sandbox.json file. */
  seed?: unknown;
  /** Default null = unlimited. */
  rateLimit?: { max: number; perMs: number } | null;
  faults?: FaultRule[];
}

export interface AppliedTransaction {
  id: string;
  kind: 'load' | 'unload';
  /** The account LABEL from the seed, never a password or token. */
  account: string;
  /** CT Payer cardId, VirtualRx CustId. */
  payee: string;
  amountCents: number;
  /** CT Payer internalPaymentId; VirtualRx ClaimReferenceNumber. */
  key?: string;
  description?: string;
  /** ISO time it was applied. */
  at: string;
}

export interface ReceivedRequest {
  /** Date.now() when the whole request had arrived (the rate limit's clock for it). */
  at: number;
  path: string;
  /** The account label, when the request named a seeded account. */
  account?: string;
  /** 0 when the connection was dropped. */
  status: number;
}

export interface RunningSandbox {
  provider: string;
  /** http://127.0.0.1:PORT */
  url: string;
  port: number;
  transactions(): AppliedTransaction[];
  requests(): ReceivedRequest[];
  /** Requests that have arrived and are held by a latency fault, not yet answered (the request log has them once answered). */
  held(): { path: string; since: number }[];
  /** Balances and cards/customers, without credentials. */
  state(): unknown;
  /**
   * The session tokens and access ids handed out since the last reset (expired ones too): for tests
   * that look for them where they must not be (logs, Redis, reports).
   */
  issuedSecrets(): string[];
  setFaults(rules: FaultRule[]): void;
  setRateLimit(limit: { max: number; perMs: number } | null): void;
  /** Back to the seed and to the faults and rate limit it was started with; clears the logs. */
  reset(): void;
  close(): Promise<void>;
}

// ---- The contract a provider protocol implements -------------------------------------------

export interface SandboxRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface Answer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** A request the protocol recognised, parsed once, waiting for the core to decide its fate. */
export interface Call {
  /** The label of the account the request names (by username or token), even if it fails auth. */
  account: string | undefined;
  /** The parsed params / data fields that fault rules match on (never a password or token). */
  fields: Readonly<Record<string, string>>;
  /** Moves money: the default target of fault rules. */
  payment: boolean;
  /** Authenticate, validate and apply; the provider's documented answer. */
  handle(): Answer;
  /** The provider's documented "nothing applied, retry later" answer. */
  retryLater(retryAfterSeconds: number): Answer;
  /** The provider's error answer (its envelope and status for an error) carrying `code`, whatever it is. */
  answerCode(code: string): Answer;
}

/** One provider's state, built from its seed; rebuilt from scratch on reset. */
export interface Simulation {
  /** A Call for a provider route, or a final Answer (unknown path, wrong method). */
  route(request: SandboxRequest): Call | Answer;
  state(): unknown;
  /** For providers that hand out sessions: every token or id issued (RunningSandbox.issuedSecrets). */
  issuedSecrets?(): string[];
}

/** The log of applied transactions, as a protocol sees it: it adds to it and draws ids from it. */
export interface Journal {
  record(transaction: Omit<AppliedTransaction, 'at'>): AppliedTransaction;
  /** 1, 2, 3… for the server's lifetime (not reset), so no id is ever issued twice by one sandbox. */
  nextSequence(): number;
}

export interface Protocol {
  provider: string;
  /** Validates the seed (throwing a readable error) and builds fresh state from it. */
  open(seed: unknown, journal: Journal): Simulation;
}

// ---- Helpers protocols share ---------------------------------------------------------------

export function json(status: number, value: unknown, headers: Record<string, string> = {}): Answer {
  return { status, headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(value) };
}

/** A refusal with nothing applied (429, 503) that tells the client when to come back. */
export function refusal(status: number, message: string, retryAfterSeconds: number): Answer {
  return json(status, { error: message, retryAfterSeconds }, { 'retry-after': String(retryAfterSeconds) });
}

export function notFound(path: string): Answer {
  return json(404, { error: `no such resource: ${path}` });
}

export function methodNotAllowed(allowed: string): Answer {
  return json(405, { error: `use ${allowed}` }, { allow: allowed });
}

export function parseSeed<S extends z.ZodType>(provider: string, schema: S, seed: unknown): z.output<S> {
  const parsed = schema.safeParse(seed);
  if (!parsed.success) throw new Error(`the ${provider} sandbox seed is invalid:\n${z.prettifyError(parsed.error)}`);
  return parsed.data;
}

/** The first problem zod found, as the field it concerns and what is wrong with it. */
export function firstIssue(error: z.ZodError): { field: string; message: string } {
  const issue = error.issues[0];
  return { field: issue?.path.join('.') ?? '', message: issue?.message ?? 'is invalid' };
}

/** A form-encoded body's parameters; an empty parameter counts as absent, a body of another type as empty. */
export function formParams(request: SandboxRequest): Record<string, string> {
  if (!request.headers['content-type']?.startsWith('application/x-www-form-urlencoded')) return {};
  return Object.fromEntries([...new URLSearchParams(request.body)].filter(([, value]) => value !== ''));
}

/** The parsed JSON, or undefined when the text is not JSON. */
export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

export function distinct<T>(items: readonly T[], key: (item: T) => string): boolean {
  return new Set(items.map(key)).size === items.length;
}

// ---- The server ----------------------------------------------------------------------------

const ADMIN = '/__sandbox/';
const MAX_BODY_BYTES = 1024 * 1024;
// Clients keep sockets alive between payments; closing an idle one first makes the next request
// fail with ECONNRESET, which a client must read as "the payment may have been applied".
const KEEP_ALIVE_MS = 65_000;
const GARBAGE = '<html><body><h1>Gateway error</h1><p>upstream answered: {"stat';

export async function serve(protocol: Protocol, options: SandboxOptions & { port: number; seed: unknown }): Promise<RunningSandbox> {
  const startFaults = faultRulesSchema.parse(options.faults ?? []);
  const startLimit = rateLimitSchema.parse(options.rateLimit ?? null);
  let sequence = 0;
  const nextSequence = () => (sequence += 1);
  // Each reset starts a new generation: journal, request log and simulation together, so a request
  // still in flight across a reset lands in the old generation's logs, not in the fresh ones.
  let journal = new TransactionJournal(nextSequence);
  let simulation = protocol.open(options.seed, journal);
  const faults = new FaultBook(startFaults);
  const limiter = new SlidingWindowLog(startLimit);
  let received: ReceivedRequest[] = [];
  const holding = new Set<{ path: string; since: number }>();
  const closing = new AbortController();
  // Every request held by a latency fault listens for the close: any number of them at once is fine.
  setMaxListeners(0, closing.signal);

  async function onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const { pathname: path, searchParams: query } = new URL(req.url ?? '/', 'http://sandbox');
    const method = req.method ?? '';
    const body = await readBody(req);
    const arrivedAt = Date.now();
    if (path.startsWith(ADMIN)) {
      reply(res, body === undefined ? tooLarge() : admin(method, path.slice(ADMIN.length), body));
      return;
    }

    const requestLog = received;
    const log = (status: number, account?: string): void => {
      requestLog.push({ at: arrivedAt, path, ...(account === undefined ? {} : { account }), status });
    };
    if (body === undefined) return log(reply(res, tooLarge()));
    const routed = simulation.route({ method, path, query, headers: req.headers, body });
    if (!('handle' in routed)) return log(reply(res, routed));
    const call = routed;
    const target = { path, fields: call.fields, payment: call.payment };

    let decidedAt = arrivedAt;
    const delayMs = faults.latencyMs(target);
    if (delayMs > 0) {
      const entry = { path, since: arrivedAt };
      holding.add(entry);
      const slept = await sleep(delayMs, true, { signal: closing.signal }).catch(() => false);
      holding.delete(entry);
      if (!slept) return void req.socket.destroy();
      decidedAt = Date.now();
    }
    // Requests that name no seeded account share one window of their own.
    const admission = limiter.admit(call.account ?? '', decidedAt);
    if (!admission.admitted) {
      const seconds = Math.max(1, Math.ceil(admission.retryAfterMs / 1000));
      return log(reply(res, refusal(429, 'rate limit exceeded for this account; nothing was applied', seconds)), call.account);
    }
    const answer = react(faults.answerFault(target), call);
    if (answer === undefined) {
      req.socket.destroy();
      return log(0, call.account);
    }
    log(reply(res, answer), call.account);
  }

  function admin(method: string, route: string, body: string): Answer {
    switch (`${method} ${route}`) {
      case 'GET transactions':
        return json(200, sandbox.transactions());
      case 'GET requests':
        return json(200, sandbox.requests());
      case 'GET state':
        return json(200, sandbox.state());
      case 'PUT faults':
        return adminUpdate(faultRulesSchema, body, (rules) => faults.set(rules));
      case 'PUT rate-limit':
        return adminUpdate(rateLimitSchema, body, (limit) => limiter.setLimit(limit));
      case 'POST reset':
        sandbox.reset();
        return json(200, { reset: true });
      default:
        return notFound(`${ADMIN}${route} (${method})`);
    }
  }

  const server = createServer((req, res) => {
    onRequest(req, res).catch((error: unknown) => {
      process.stderr.write(`${protocol.provider} sandbox: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      if (!res.headersSent && !req.socket.destroyed) reply(res, json(500, { error: 'sandbox failure' }));
    });
  });
  server.keepAliveTimeout = KEEP_ALIVE_MS;
  server.headersTimeout = KEEP_ALIVE_MS + 1_000;
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      reject(error.code === 'EADDRINUSE' ? new UsageError(`port ${options.port} on ${host} is already in use (is a sandbox already running?)`) : error);
    });
    server.listen(options.port, host, () => {
      server.removeAllListeners('error');
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;

  const sandbox: RunningSandbox = {
    provider: protocol.provider,
    url: `http://${host}:${port}`,
    port,
    transactions: () => journal.list(),
    requests: () => received.map((r) => ({ ...r })),
    held: () => [...holding].map((h) => ({ ...h })),
    state: () => simulation.state(),
    issuedSecrets: () => simulation.issuedSecrets?.() ?? [],
    setFaults: (rules) => faults.set(rules),
    setRateLimit: (limit) => limiter.setLimit(rateLimitSchema.parse(limit)),
    reset() {
      journal = new TransactionJournal(nextSequence);
      received = [];
      simulation = protocol.open(options.seed, journal);
      faults.set(startFaults);
      limiter.setLimit(startLimit);
      limiter.clear();
    },
    async close() {
      closing.abort();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
  return sandbox;
}

/** The answer an injected fault gives instead of (or after) the provider's; undefined = drop the connection. */
function react(fault: AnswerFault | undefined, call: Call): Answer | undefined {
  switch (fault?.kind) {
    case undefined:
      return call.handle();
    case 'drop-before':
      return undefined;
    case 'drop-after':
      call.handle();
      return undefined;
    case 'retryable':
      return call.retryLater(fault.retryAfterSeconds ?? 1);
    case 'throttle':
      return refusal(429, 'too many requests; nothing was applied', fault.retryAfterSeconds ?? 1);
    case 'unavailable':
      return refusal(503, 'temporarily unavailable; nothing was applied', fault.retryAfterSeconds ?? 1);
    case 'server-error':
      return { status: 500, headers: { 'content-type': 'text/plain' }, body: 'Internal Server Error' };
    case 'garbage':
      return { status: 200, headers: { 'content-type': 'application/json' }, body: GARBAGE };
    case 'code':
      if (fault.applied) call.handle();
      // The schema refuses a code rule without its code.
      return call.answerCode(fault.code ?? '');
  }
}

function adminUpdate<S extends z.ZodType>(schema: S, body: string, apply: (value: z.output<S>) => void): Answer {
  const value = parseJson(body);
  if (value === undefined) return json(400, { error: 'the body must be JSON' });
  const parsed = schema.safeParse(value);
  if (!parsed.success) return json(400, { error: z.prettifyError(parsed.error) });
  apply(parsed.data);
  return json(200, parsed.data);
}

function tooLarge(): Answer {
  return json(413, { error: `the body is larger than ${MAX_BODY_BYTES} bytes` });
}

/** Writes the answer; returns its status for the request log. */
function reply(res: ServerResponse, answer: Answer): number {
  res.writeHead(answer.status, { ...answer.headers, 'content-length': String(Buffer.byteLength(answer.body)) });
  res.end(answer.body);
  return answer.status;
}

/** The body as text, or undefined when it is over the limit (read to the end and discarded, so the socket stays usable). */
function readBody(req: IncomingMessage): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
    });
    req.on('end', () => resolve(size > MAX_BODY_BYTES ? undefined : Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

class TransactionJournal implements Journal {
  private readonly applied: AppliedTransaction[] = [];

  constructor(readonly nextSequence: () => number) {}

  record(transaction: Omit<AppliedTransaction, 'at'>): AppliedTransaction {
    const applied = { ...transaction, at: new Date().toISOString() };
    this.applied.push(applied);
    return applied;
  }

  list(): AppliedTransaction[] {
    return this.applied.map((t) => ({ ...t }));
  }
}
