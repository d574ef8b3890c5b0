import { z } from 'zod';
import { commonOutcome, listedCode, parseJsonBody, unlistedCode, unreadable } from './contract-rules.js';
import { required, text } from './field-rules.js';
import type { HttpResponse, HttpResult } from './http.js';
import { manifestSpec } from './manifest-spec.js';
import type { Outcome, OutcomeKind } from './outcome.js';
import type { CheckResult, ClientContext, LookupResult, PaymentInstruction, ProviderAdapter, ProviderClient } from './types.js';

/**
 * PT API (Prepaid Technologies): JSON REST with a bearer token from POST /users/login, amounts in
 * integer cents, errors as `{"error":{"code","message"}}`. Loads are not idempotent, but each one
 * carries the payment id as externalId, which GET /loads?q=externalId:<id> finds: an unknown
 * outcome is settled by lookup, never by sending the load again blind.
 */

// PT API documents no field lengths. These are our own guards against oversize or pasted-in cells,
// as for VirtualRx: 50 characters for identifiers, 100 for the free-text description.
const id = () => required(text({ max: 50 }));

const fields = z.object({
  cardholderId: id(),
  customerId: id(),
  programId: id(),
  description: required(text({ max: 100 })),
});
export type PtApiFields = z.infer<typeof fields>;

const credentials = z.object({ username: z.string().min(1), password: z.string().min(1) });
export type PtApiCredentials = z.infer<typeof credentials>;

const loginBody = z.looseObject({ token: z.string().min(1), expiresIn: z.number().int().nonnegative() });
const errorBody = z.looseObject({ error: z.looseObject({ code: z.string(), message: z.string().optional() }) });
const loadBody = z.looseObject({ loadId: z.union([z.string(), z.number()]).transform(String), externalId: z.unknown() });
const loadList = z.looseObject({ items: z.array(loadBody) });
const masterFunds = z.looseObject({ balance: z.number().int().nonnegative() });

// Log in again this long before the token expires, so no call goes out with a token about to lapse;
// at most half the token's lifetime, so a short-lived token is still used.
const RENEW_MARGIN_MS = 30_000;

type Retryable = Extract<Outcome, { kind: 'retryable' }>;
type Login = { ok: true; token: string; renewAt: number } | { ok: false; outcome: Retryable };
/** A call's HTTP result, or the login that had to come first and failed (then nothing was sent). */
type Exchange = HttpResult | { kind: 'no-login'; outcome: Retryable };
type Read<T> = { ok: true; value: T } | { ok: false; outcome: Outcome };

const REFUSED_AFTER_LOGIN: Retryable = {
  kind: 'retryable',
  code: 'UNAUTHORIZED',
  message: 'PT API refused the token of a fresh login; nothing was applied',
  throttled: false,
};

/** The error codes PT API documents (docs/providers.md, "PT API"). */
type ErrorCode = 'VALIDATION_ERROR' | 'INSUFFICIENT_FUNDS' | 'CARDHOLDER_INACTIVE' | 'UNAUTHORIZED' | 'FORBIDDEN' | 'NOT_FOUND';

/**
 * Each documented error code, as the outcome of a load. An error body applied nothing, and the same
 * load sent again gets the same answer. UNAUTHORIZED comes with HTTP 401, which gets a fresh login
 * and one repeat first; still refused, nothing applied.
 */
const LOAD_ERROR_CODES = {
  VALIDATION_ERROR: 'declined',
  INSUFFICIENT_FUNDS: 'declined',
  CARDHOLDER_INACTIVE: 'declined',
  UNAUTHORIZED: 'retryable',
  FORBIDDEN: 'declined',
  NOT_FOUND: 'declined',
} as const satisfies Record<ErrorCode, OutcomeKind>;

export const ptapi = {
  id: 'ptapi',
  name: 'PT API',
  capabilities: { idempotencyKey: false, resendSafeWithoutLedger: false },
  manifest: manifestSpec(fields, { payee: (f) => f.cardholderId }),
  credentials,
  // PT API documents no rate limit: a cautious default.
  defaultRateLimit: { max: 20, perMs: 1000, marginMs: 250 },
  createClient: (context) => new PtApiClient(context),
  lookup: { find: (client, payment) => client.lookup(payment) },
  balance: { fundingBalanceCents: (client) => client.fundingBalanceCents() },
} satisfies ProviderAdapter<PtApiFields, PtApiCredentials, PtApiClient>;

/** A PT API read that got no usable answer. */
export class PtApiError extends Error {
  override name = 'PtApiError';

  constructor(
    path: string,
    readonly outcome: Outcome,
  ) {
    super(`PT API ${path}: ${outcome.code}: ${outcome.message}`);
  }
}

/**
 * The bearer token every concurrent call of one client shares, in this process's memory only (never
 * Redis, logs or messages). One login at a time: whoever needs a token while a login is under way
 * waits for that login instead of starting another.
 */
class TokenKeeper {
  private held: { token: string; renewAt: number } | undefined;
  private pending: Promise<Login> | undefined;

  constructor(private readonly logIn: () => Promise<Login>) {}

  /**
   * A token that is neither `refused` (the one a 401 just turned down) nor due for renewal; logs in
   * for it when the held one is either. A held token that differs from `refused` was renewed by
   * another call meanwhile and is used as it is.
   */
  token(refused?: string): Promise<Login> {
    const held = this.held;
    if (held !== undefined && held.token !== refused && Date.now() < held.renewAt) return Promise.resolve({ ok: true, ...held });
    this.pending ??= this.logIn()
      .then((login) => {
        if (login.ok) this.held = { token: login.token, renewAt: login.renewAt };
        return login;
      })
      .finally(() => {
        this.pending = undefined;
      });
    return this.pending;
  }

  /** Forgets the token, after any login under way; returns it so it can be logged out. */
  async release(): Promise<string | undefined> {
    // A login that failed left no token to release.
    await this.pending?.catch(() => undefined);
    const token = this.held?.token;
    this.held = undefined;
    return token;
  }
}

export class PtApiClient implements ProviderClient<PtApiFields> {
  private readonly tokens = new TokenKeeper(() => this.logIn());

  constructor(private readonly context: ClientContext<PtApiCredentials>) {}

  async pay(payment: PaymentInstruction<PtApiFields>): Promise<Outcome> {
    const { cardholderId, customerId, programId, description } = payment.fields;
    const body = { amount: payment.amountCents, customerId, programId, description, externalId: payment.paymentId };
    const exchange = await this.authorized('POST', `/cardholders/${encodeURIComponent(cardholderId)}/loads`, body, payment.beforeSend);
    return loadOutcome(exchange);
  }

  async lookup(payment: PaymentInstruction<PtApiFields>): Promise<LookupResult> {
    const answer = await this.read(`/loads?${new URLSearchParams({ q: `externalId:${payment.paymentId}` })}`, loadList);
    if (!answer.ok) return { found: 'unknown', outcome: answer.outcome };
    // The search syntax may match more loosely than equality; only an exact externalId is this payment.
    const loads = answer.value.items.filter((load) => load.externalId === payment.paymentId);
    const [first] = loads;
    if (first === undefined) return { found: false };
    if (loads.length === 1) return { found: true, reference: first.loadId, message: `found load ${first.loadId} with externalId ${payment.paymentId}` };
    return {
      found: true,
      reference: first.loadId,
      message: `DOUBLE PAYMENT: ${loads.length} loads carry externalId ${payment.paymentId} (${loads.map((l) => l.loadId).join(', ')}); the payment was applied more than once and a person must settle the extra loads`,
    };
  }

  /** Logs in, unless the client already holds a fresh token (which a login proved). */
  async check(): Promise<CheckResult> {
    const login = await this.tokens.token();
    return login.ok ? { status: 'ok', detail: 'PT API accepted the login' } : { status: 'failed', detail: `${login.outcome.code}: ${login.outcome.message}` };
  }

  async fundingBalanceCents(): Promise<number> {
    return (await this.need('/master-funds', masterFunds)).balance;
  }

  async close(): Promise<void> {
    const token = await this.tokens.release();
    // Best effort: a token whose logout fails still expires by itself after expiresIn.
    if (token !== undefined) await this.send('POST', '/users/logout', token, {});
  }

  /** A call with the bearer token. A 401 gets one fresh login and one repeat, never more. */
  private async authorized(method: 'GET' | 'POST', path: string, body?: unknown, beforeSend?: () => Promise<void>): Promise<Exchange> {
    const first = await this.tokens.token();
    if (!first.ok) return { kind: 'no-login', outcome: first.outcome };
    const result = await this.send(method, path, first.token, body, beforeSend);
    if (result.kind !== 'response' || result.status !== 401) return result;
    // A 401 applied nothing, so repeating the call is safe, even a load.
    const second = await this.tokens.token(first.token);
    if (!second.ok) return { kind: 'no-login', outcome: second.outcome };
    return this.send(method, path, second.token, body, beforeSend);
  }

  private async read<T>(path: string, schema: z.ZodType<T>): Promise<Read<T>> {
    const answer = answered(await this.authorized('GET', path));
    if ('outcome' in answer) return { ok: false, outcome: answer.outcome };
    const body = parseJsonBody(answer.text);
    const parsed = schema.safeParse(body);
    if (answer.status === 200 && parsed.success) return { ok: true, value: parsed.data };
    const error = errorBody.safeParse(body);
    // A question answered with an error or unreadably leaves what it asked about unknown, never declined.
    if (!error.success) return { ok: false, outcome: unreadable(answer.status) };
    return { ok: false, outcome: { kind: 'unknown', code: error.data.error.code, message: error.data.error.message ?? '' } };
  }

  private async need<T>(path: string, schema: z.ZodType<T>): Promise<T> {
    const answer = await this.read(path, schema);
    if (!answer.ok) throw new PtApiError(path, answer.outcome);
    return answer.value;
  }

  private async logIn(): Promise<Login> {
    const { username, password } = this.context.credentials;
    // The token's lifetime runs from when the server issued it, which is after this.
    const sentAt = Date.now();
    return loginResult(await this.send('POST', '/users/login', undefined, { username, password }), sentAt);
  }

  private send(method: 'GET' | 'POST', path: string, token: string | undefined, body?: unknown, beforeSend?: () => Promise<void>): Promise<HttpResult> {
    const { baseUrl, send } = this.context;
    return send({
      method,
      url: `${baseUrl.replace(/\/$/, '')}${path}`,
      headers: {
        'content-type': 'application/json',
        accept: 'application/json',
        ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      ...(beforeSend ? { beforeSend } : {}),
    });
  }
}

/** The outcome a call's HTTP result settles by itself, or its status and body to read. */
function answered(exchange: Exchange): { outcome: Outcome } | HttpResponse {
  if (exchange.kind === 'no-login') return { outcome: exchange.outcome };
  const response = commonOutcome(exchange);
  if (response.kind !== 'response') return { outcome: response };
  // Still 401 after a fresh login (authorized() repeats once).
  if (response.status === 401) return { outcome: REFUSED_AFTER_LOGIN };
  return response;
}

function loadOutcome(exchange: Exchange): Outcome {
  const answer = answered(exchange);
  if ('outcome' in answer) return answer.outcome;
  const body = parseJsonBody(answer.text);
  const load = loadBody.safeParse(body);
  if (answer.status === 201 && load.success) return { kind: 'paid', reference: load.data.loadId, code: 'CREATED', message: '' };
  const error = errorBody.safeParse(body);
  if (!error.success) return unreadable(answer.status);
  const { code, message = '' } = error.data.error;
  switch (listedCode(LOAD_ERROR_CODES, code)) {
    case undefined:
      // A load PT API may have applied is looked up by its externalId before anything is resent.
      return unlistedCode(code, message, 'payment');
    case 'retryable':
      return { kind: 'retryable', code, message, throttled: false };
    case 'declined':
      return { kind: 'declined', code, message };
  }
}

function loginResult(result: HttpResult, sentAt: number): Login {
  // A login moves no money, so whatever became of it, nothing was applied: the payment can wait.
  const refused = (code: string, message: string): Login => ({ ok: false, outcome: { kind: 'retryable', code, message, throttled: false } });
  const response = commonOutcome(result);
  if (response.kind === 'retryable') return { ok: false, outcome: response };
  if (response.kind === 'unknown') return refused(response.code, `PT API gave no answer to the login (${response.code}); nothing else was sent`);
  const body = parseJsonBody(response.text);
  const login = loginBody.safeParse(body);
  if (response.status === 200 && login.success) {
    const lifetimeMs = login.data.expiresIn * 1000;
    return { ok: true, token: login.data.token, renewAt: sentAt + lifetimeMs - Math.min(RENEW_MARGIN_MS, lifetimeMs / 2) };
  }
  const error = errorBody.safeParse(body);
  if (error.success) return refused(error.data.error.code, `PT API refused the login: ${error.data.error.message ?? ''}`.trim());
  if (response.status === 401) return refused('UNAUTHORIZED', 'PT API refused the username and password');
  return refused(`HTTP_${response.status}_UNREADABLE`, `PT API answered the login with HTTP ${response.status} and a body that could not be read`);
}
