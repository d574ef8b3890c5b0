import { z } from 'zod';
import { formatDollars } from '../money.js';
import { commonOutcome, listedCode, parseJsonBody, unlistedCode, unreadable } from './contract-rules.js';
import { required, text } from './field-rules.js';
import type { HttpResult } from './http.js';
import { manifestSpec } from './manifest-spec.js';
import type { Outcome, OutcomeKind } from './outcome.js';
import type { CheckResult, ClientContext, IssuedKey, PaymentInstruction, ProviderAdapter, ProviderClient } from './types.js';

/**
 * ClientPay: JSON POSTs to /v2/…, each carrying the account's accessId. Issuing a new accessId
 * expires the previous one for everybody, so the accessId lives in the account's shared session
 * (one value for every worker process) and is only ever replaced through session.renew, which lets
 * exactly one process ask for a new one. Payments are idempotent on a requestId ClientPay issues:
 * the worker keeps it in its ledger before the first send, and a resend with the same requestId and
 * body is answered with the first result instead of paying twice.
 */

// ClientPay documents no field lengths: 50 characters for identifiers and 100 for the description
// are our own guards against oversize or pasted-in cells (the same as for VirtualRx).
const id = () => required(text({ max: 50 }));

const fields = z.object({
  /** ClientPay's token for the payee: never a card number (the manifest refuses those). */
  payeeToken: id(),
  referenceNumber: id(),
  description: required(text({ max: 100 })),
});
export type ClientPayFields = z.infer<typeof fields>;

const credentials = z.object({
  integratorKey: z.string().min(1),
  accountKey: z.string().min(1),
  accountPin: z.string().min(1),
});
export type ClientPayCredentials = z.infer<typeof credentials>;

const errorBody = z.looseObject({ error: z.looseObject({ code: z.string(), message: z.string().optional() }) });
// An account with no accessId (never issued, or expired) answers the documented null, or an empty
// one: both mean none (and so does a 401 INVALID_ACCESS_ID, read in askCurrent).
const currentAccessId = z.looseObject({ accessId: z.string().nullable().transform((id) => (id === null || id.trim() === '' ? undefined : id)) });
const issuedAccessId = z.looseObject({ accessId: z.string().min(1) });
const issuedRequestId = z.looseObject({ requestId: z.string().min(1) });
const paymentResult = z.discriminatedUnion('status', [
  z.looseObject({ status: z.literal('APPROVED'), transactionId: z.union([z.string(), z.number()]).transform(String) }),
  z.looseObject({ status: z.literal('DECLINED'), declineReason: z.string().optional() }),
]);

/** The error codes ClientPay documents (docs/providers.md, "ClientPay"). */
type ErrorCode = 'INVALID_ACCESS_ID' | 'VALIDATION_ERROR' | 'REQUEST_ID_USED';

/**
 * Each documented error code, as the outcome of a payment. Any 401 is read as INVALID_ACCESS_ID
 * is, whatever its code: the accessId (still refused after one renewal) or the credentials behind
 * it; a later attempt starts again from the shared session, and fixing credentials is a person's
 * job, as with CT Payer.
 */
const ERROR_CODES = {
  INVALID_ACCESS_ID: 'retryable',
  VALIDATION_ERROR: 'declined',
  // This requestId already executed with another body. Whether this row was paid by it, and with
  // what, only a person can tell.
  REQUEST_ID_USED: 'unknown',
} as const satisfies Record<ErrorCode, OutcomeKind>;

export const clientpay = {
  id: 'clientpay',
  name: 'ClientPay',
  capabilities: { idempotencyKey: true, resendSafeWithoutLedger: false },
  manifest: manifestSpec(fields, { payee: (f) => f.payeeToken }),
  credentials,
  // ClientPay documents no rate limit: the same cautious default as the other providers.
  defaultRateLimit: { max: 20, perMs: 1000, marginMs: 250 },
  createClient: (context) => new ClientPayClient(context),
} satisfies ProviderAdapter<ClientPayFields, ClientPayCredentials, ClientPayClient>;

/** No accessId could be had, so no call was sent with one; `outcome` (retryable) says why. */
class AccessIdUnavailableError extends Error {
  override name = 'AccessIdUnavailableError';

  constructor(readonly outcome: Outcome) {
    super(`no ClientPay accessId: ${outcome.code}: ${outcome.message}`);
  }
}

/** A ClientPay answer read by the contract rules: the 200 body in its expected shape, or the outcome it amounts to. */
type Reply<T> = { ok: true; body: T } | { ok: false; outcome: Outcome };

/**
 * What /access-id/current said: the account's accessId; none, in a 200 (so the credentials were
 * accepted); or a 401 INVALID_ACCESS_ID, which is how an account with none may answer, and, that
 * being ClientPay's only documented 401 code, perhaps how it refuses wrong credentials too.
 */
type Current = { kind: 'current'; accessId: string } | { kind: 'none' } | { kind: 'refused' };

export class ClientPayClient implements ProviderClient<ClientPayFields> {
  constructor(private readonly context: ClientContext<ClientPayCredentials>) {}

  async issueIdempotencyKey(): Promise<IssuedKey> {
    const reply = await this.withAccessId((accessId) => this.post('request-id', { accessId }), issuedRequestId);
    return reply.ok ? { ok: true, key: reply.body.requestId } : { ok: false, outcome: nothingPaid(reply.outcome, 'get a requestId') };
  }

  async pay(payment: PaymentInstruction<ClientPayFields>): Promise<Outcome> {
    const { payeeToken, description, referenceNumber } = payment.fields;
    const reply = await this.withAccessId(
      (accessId) =>
        this.post('payment', { accessId, requestId: payment.idempotencyKey, amount: formatDollars(payment.amountCents), payeeToken, description, referenceNumber }, payment.beforeSend),
      paymentResult,
    );
    if (!reply.ok) return reply.outcome;
    const result = reply.body;
    return result.status === 'APPROVED'
      ? { kind: 'paid', reference: result.transactionId, code: 'APPROVED', message: '' }
      : { kind: 'declined', code: 'DECLINED', message: result.declineReason ?? '' };
  }

  /**
   * Proves the credentials, the PIN with them, by asking /access-id/current: it carries them, and
   * unlike /access-id/new it expires nobody's accessId (a new one would cut off every worker and any
   * other integration using the account's). An accessId kept in the shared session is not used: it
   * works whatever PIN this configuration holds. Only when /current answers 401 INVALID_ACCESS_ID
   * can it not tell (no accessId yet, or wrong credentials), and then the account's first accessId
   * is taken as a worker's first call takes it, under the session's lock: with right credentials
   * there is none to expire, and wrong ones are refused there too, issuing nothing.
   */
  async check(): Promise<CheckResult> {
    try {
      // Twice at most: a first try can find another process storing the first accessId meanwhile.
      for (let tries = 0; tries < 2; tries += 1) {
        const current = await this.askCurrent();
        if (current.kind === 'current') return { status: 'ok', detail: 'ClientPay accepted the credentials and gave the account\'s current accessId' };
        if (current.kind === 'none') return { status: 'ok', detail: 'ClientPay accepted the credentials; the account has no accessId yet (the first payment gets one)' };
        if (await this.takeFirstAccessId()) return { status: 'ok', detail: 'ClientPay accepted the credentials and gave the account its first accessId' };
      }
      return { status: 'failed', detail: 'INVALID_ACCESS_ID: /access-id/current refused twice while another process was taking the account\'s first accessId; run check again' };
    } catch (error) {
      if (error instanceof AccessIdUnavailableError) return failedCheck(error.outcome);
      throw error;
    }
  }

  async close(): Promise<void> {}

  /**
   * Sends a call that carries the accessId and reads its answer. A 401 INVALID_ACCESS_ID means a new
   * accessId was issued (or this one expired): it is renewed through the shared session, so across
   * all processes one new accessId is issued however many calls were refused, and the call is sent
   * once more. A second refusal is read like any answer: retryable, nothing applied.
   */
  private async withAccessId<T>(send: (accessId: string) => Promise<HttpResult>, shape: z.ZodType<T>): Promise<Reply<T>> {
    try {
      const accessId = await this.accessId();
      const first = await send(accessId);
      if (!refusesAccessId(first)) return read(first, shape);
      return read(await send(await this.context.session.renew(accessId, () => this.newAccessId())), shape);
    } catch (error) {
      if (error instanceof AccessIdUnavailableError) return { ok: false, outcome: error.outcome };
      throw error;
    }
  }

  /** The shared accessId; the first process to find none takes the account's current one. */
  private async accessId(): Promise<string> {
    const { session } = this.context;
    return (await session.get()) ?? session.renew(undefined, () => this.currentOrNewAccessId());
  }

  // Asking for the current accessId first matters: a new one would expire it for everyone using it.
  private async currentOrNewAccessId(): Promise<string> {
    const current = await this.askCurrent();
    return current.kind === 'current' ? current.accessId : this.newAccessId();
  }

  /**
   * Stores the account's first accessId in the shared session, asking for it under the session's
   * lock; false when another process stored one meanwhile (then nothing was asked here).
   */
  private async takeFirstAccessId(): Promise<boolean> {
    const { session } = this.context;
    let asked = false;
    await session.renew(await session.get(), async () => {
      asked = true;
      return this.currentOrNewAccessId();
    });
    return asked;
  }

  private async askCurrent(): Promise<Current> {
    const result = await this.post('access-id/current', this.credentialFields());
    if (refusesAccessId(result)) return { kind: 'refused' };
    const { accessId } = this.credentialReply(result, currentAccessId);
    return accessId === undefined ? { kind: 'none' } : { kind: 'current', accessId };
  }

  private async newAccessId(): Promise<string> {
    return this.credentialReply(await this.post('access-id/new', this.credentialFields()), issuedAccessId).accessId;
  }

  private credentialFields(): Record<string, string> {
    const { integratorKey, accountKey, accountPin } = this.context.credentials;
    return { integratorKey, accountKey, accountPin };
  }

  private credentialReply<T>(result: HttpResult, shape: z.ZodType<T>): T {
    const reply = read(result, shape);
    if (!reply.ok) throw new AccessIdUnavailableError(nothingPaid(reply.outcome, 'get an accessId'));
    return reply.body;
  }

  private post(path: string, body: Record<string, string>, beforeSend?: () => Promise<void>): Promise<HttpResult> {
    const { baseUrl, send } = this.context;
    return send({
      method: 'POST',
      url: `${baseUrl.replace(/\/$/, '')}/v2/${path}`,
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify(body),
      ...(beforeSend ? { beforeSend } : {}),
    });
  }
}

function refusesAccessId(result: HttpResult): boolean {
  if (result.kind !== 'response' || result.status !== 401) return false;
  const error = errorBody.safeParse(parseJsonBody(result.text));
  return error.success && error.data.error.code === 'INVALID_ACCESS_ID';
}

function read<T>(result: HttpResult, shape: z.ZodType<T>): Reply<T> {
  const response = commonOutcome(result);
  if (response.kind !== 'response') return { ok: false, outcome: response };
  const body = parseJsonBody(response.text);
  if (response.status === 200) {
    const parsed = shape.safeParse(body);
    return parsed.success ? { ok: true, body: parsed.data } : { ok: false, outcome: unreadable(200) };
  }
  const error = errorBody.safeParse(body);
  if (!error.success) return { ok: false, outcome: unreadable(response.status) };
  return { ok: false, outcome: errorOutcome(response.status, error.data.error.code, error.data.error.message ?? '') };
}

/**
 * An error body, read as a payment's answer (calls that move no money make any outcome but a
 * retryable one "no usable answer": nothingPaid).
 */
function errorOutcome(status: number, code: string, message: string): Outcome {
  switch (status === 401 ? 'retryable' : listedCode(ERROR_CODES, code)) {
    case undefined:
      return unlistedCode(code, message, 'payment');
    case 'retryable':
      return { kind: 'retryable', code, message, throttled: false };
    case 'unknown':
      return { kind: 'unknown', code, message: `${message || code}; the requestId went with another payment, so whether this one was made needs a person to check with ClientPay` };
    case 'declined':
      return { kind: 'declined', code, message };
  }
}

/** Whatever a call that moves no money ran into, nothing was paid: retryable, keeping any throttling. */
function nothingPaid(outcome: Outcome, what: string): Outcome {
  if (outcome.kind === 'retryable') return outcome;
  const why = outcome.kind === 'declined' ? outcome.message : 'no usable answer';
  return { kind: 'retryable', code: outcome.code, message: `could not ${what} (${why}); nothing was paid`, throttled: false };
}

function failedCheck(outcome: Outcome): CheckResult {
  return { status: 'failed', detail: `${outcome.code}: ${outcome.message}` };
}
