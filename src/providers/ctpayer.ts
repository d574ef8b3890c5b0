import { z } from 'zod';
import { formatDollars, parseBalanceDollars } from '../money.js';
import { commonOutcome, listedCode, parseJsonBody, unlistedCode, unreadable } from './contract-rules.js';
import { digits, required, text } from './field-rules.js';
import type { HttpResult } from './http.js';
import { manifestSpec } from './manifest-spec.js';
import type { Outcome, OutcomeKind, ReversalOutcome, ReversalOutcomeKind } from './outcome.js';
import type { CardChange, CardDetails, CheckResult, ClientContext, PaymentInstruction, ProviderAdapter, ProviderClient, ReversalInstruction } from './types.js';

/**
 * CT Payer: form-encoded POSTs to /<resource>.php, JSON answers with status success|error.
 * Loads are idempotent on internalPaymentId, which is the payment's id: a resend after an unknown
 * outcome is answered DUPLICATE_PAYMENT with the original transactionId instead of paying twice.
 * A reversal is "Remove Funds" (chargecard) of the amount from the same card. It has no
 * internalPaymentId or any other key, so a chargecard whose answer is lost cannot be resent safely.
 */

const fields = z.object({
  cardId: required(digits({ length: 10 })),
  description: required(text({ max: 30 })),
  groupId: text({ max: 15 }).optional(),
});
export type CtPayerFields = z.infer<typeof fields>;

const credentials = z.object({
  username: z.string().min(1),
  password: z.string().min(1),
  /** The client user recorded as performing each transaction (documented as apiusername). */
  apiusername: z.string().min(1),
});
export type CtPayerCredentials = z.infer<typeof credentials>;

// Built once: a zod schema compiles itself on its first use, which costs more than a parse.
const successBody = z.looseObject({ status: z.literal('success') });
/** A load's or a charge's success: the transaction it made. */
const transactionBody = successBody.extend({ transactionId: z.union([z.string(), z.number()]) });
const cardDetailsBody = z.looseObject({ cardId: z.string(), participantId: z.string(), cardStatus: z.string(), cardBalance: z.string() });
const errorBody = z.looseObject({
  status: z.literal('error'),
  errorCode: z.string(),
  message: z.string().optional(),
  transactionId: z.union([z.string(), z.number()]).optional(),
});

/** The error codes CT Payer documents (docs/providers.md, "CT Payer"). */
type ErrorCode = 'DUPLICATE_PAYMENT' | 'AUTH_FAILED' | 'INVALID_PARAMETER' | 'CARD_NOT_FOUND' | 'CARD_NOT_ACTIVE' | 'INSUFFICIENT_FUNDS';

/** Each documented error code, as the outcome of a load (loadcard) and of a reversal (chargecard). */
const ERROR_CODES = {
  // The load was applied by an earlier send of this internalPaymentId: paid once, not twice.
  // chargecard carries no internalPaymentId, so for it the code can only be a refusal.
  DUPLICATE_PAYMENT: { load: 'paid', charge: 'refused' },
  // Nothing applied; the account's credentials need fixing, which no retry can do by itself.
  AUTH_FAILED: { load: 'retryable', charge: 'retryable' },
  INVALID_PARAMETER: { load: 'declined', charge: 'refused' },
  CARD_NOT_FOUND: { load: 'declined', charge: 'refused' },
  CARD_NOT_ACTIVE: { load: 'declined', charge: 'refused' },
  // A load's is the funding account's; a charge's is the card's: the participant has already spent
  // part of the money.
  INSUFFICIENT_FUNDS: { load: 'declined', charge: 'refused' },
} as const satisfies Record<ErrorCode, { load: OutcomeKind; charge: ReversalOutcomeKind }>;

export const ctpayer = {
  id: 'ctpayer',
  name: 'CT Payer',
  capabilities: { idempotencyKey: true, resendSafeWithoutLedger: true },
  manifest: manifestSpec(fields, { payee: (f) => f.cardId, group: (f) => f.groupId }),
  credentials,
  defaultRateLimit: { max: 20, perMs: 1000, marginMs: 250 },
  createClient: (context) => new CtPayerClient(context),
  reversal: {
    // chargecard's documented limit: "45 characters max, including spaces".
    reason: required(text({ max: 45 })),
    reverse: (client, reversal) => client.reverse(reversal),
  },
  balance: { fundingBalanceCents: (client) => client.fundingBalanceCents() },
  cards: {
    assign: (client, cardId, participantId) => client.assignCard(cardId, participantId),
    cancel: (client, cardId, reason) => client.cancelCard(cardId, reason),
    details: (client, cardId) => client.cardDetails(cardId),
  },
} satisfies ProviderAdapter<CtPayerFields, CtPayerCredentials, CtPayerClient>;

/**
 * What each call sends besides username and password (which every call carries): exactly its
 * documented parameters, as docs/providers.md ("CT Payer") lists them. Typed per call so
 * a parameter the call does not document, which CT Payer may refuse, cannot be passed: echo
 * documents no apiusername.
 */
interface CallParams {
  echo: Record<string, never>;
  loadcard: { cardId: string; internalPaymentId: string; amount: string; description: string; groupId?: string; apiusername: string };
  chargecard: { cardId: string; amount: string; reason: string; apiusername: string };
  getaccountbalance: { apiusername: string };
  getcarddetails: { cardId: string; apiusername: string };
  assigncard: { cardId: string; participantId: string; apiusername: string };
  setcardstatus: { cardId: string; reason: string; apiusername: string };
}
type Resource = keyof CallParams;

export class CtPayerClient implements ProviderClient<CtPayerFields> {
  constructor(private readonly context: ClientContext<CtPayerCredentials>) {}

  async pay(payment: PaymentInstruction<CtPayerFields>): Promise<Outcome> {
    const result = await this.call(
      'loadcard',
      {
        cardId: payment.fields.cardId,
        internalPaymentId: payment.idempotencyKey,
        amount: formatDollars(payment.amountCents),
        description: payment.fields.description,
        ...(payment.fields.groupId === undefined ? {} : { groupId: payment.fields.groupId }),
        apiusername: this.apiusername,
      },
      payment.beforeSend,
    );
    return loadOutcome(result);
  }

  async reverse(reversal: ReversalInstruction<CtPayerFields>): Promise<ReversalOutcome> {
    const result = await this.call(
      'chargecard',
      { cardId: reversal.fields.cardId, amount: formatDollars(reversal.amountCents), reason: reversal.reason, apiusername: this.apiusername },
      reversal.beforeSend,
    );
    return chargeOutcome(result);
  }

  async check(): Promise<CheckResult> {
    const answer = await this.query('echo', {});
    return answer.ok ? { status: 'ok', detail: 'echo answered' } : { status: 'failed', detail: answer.reason };
  }

  async fundingBalanceCents(): Promise<number> {
    return this.balanceField('getaccountbalance', { apiusername: this.apiusername }, 'accountBalance');
  }

  /** assigncard: gives an UNASSIGNED card to a participant. Moves no money. */
  async assignCard(cardId: string, participantId: string): Promise<CardChange> {
    return cardChange(await this.call('assigncard', { cardId, participantId, apiusername: this.apiusername }));
  }

  /** setcardstatus: cancels a card for good; what it still holds stays on it. Moves no money. */
  async cancelCard(cardId: string, reason: string): Promise<CardChange> {
    return cardChange(await this.call('setcardstatus', { cardId, reason, apiusername: this.apiusername }));
  }

  async cardDetails(cardId: string): Promise<CardDetails> {
    const answer = await this.query('getcarddetails', { cardId, apiusername: this.apiusername });
    if (!answer.ok) throw new Error(`CT Payer getcarddetails: ${answer.reason}`);
    const body = cardDetailsBody.parse(answer.body);
    return { cardId: body.cardId, participantId: body.participantId, cardStatus: body.cardStatus, balanceCents: toCents(body.cardBalance) };
  }

  async close(): Promise<void> {}

  /** The client user recorded as performing the call, on every call that documents apiusername. */
  private get apiusername(): string {
    return this.context.credentials.apiusername;
  }

  private async balanceField<R extends 'getaccountbalance'>(resource: R, params: CallParams[R], field: string): Promise<number> {
    const answer = await this.query(resource, params);
    if (!answer.ok) throw new Error(`CT Payer ${resource}: ${answer.reason}`);
    return toCents(String(answer.body[field]));
  }

  /** A call that moves no money: either the success body or a reason it failed. */
  private async query<R extends Resource>(resource: R, params: CallParams[R]): Promise<{ ok: true; body: Record<string, unknown> } | { ok: false; reason: string }> {
    const result = await this.call(resource, params);
    if (result.kind !== 'response') return { ok: false, reason: result.error };
    const body = parseJsonBody(result.text);
    if (successBody.safeParse(body).success) return { ok: true, body: body as Record<string, unknown> };
    const error = errorBody.safeParse(body);
    return { ok: false, reason: error.success ? `${error.data.errorCode}: ${error.data.message ?? ''}`.trim() : `HTTP ${result.status}` };
  }

  private call<R extends Resource>(resource: R, params: CallParams[R], beforeSend?: () => Promise<void>): Promise<HttpResult> {
    const { baseUrl, credentials: c, send } = this.context;
    const body = new URLSearchParams({ username: c.username, password: c.password, ...params });
    return send({
      method: 'POST',
      url: `${baseUrl.replace(/\/$/, '')}/${resource}.php`,
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: body.toString(),
      ...(beforeSend ? { beforeSend } : {}),
    });
  }
}

function loadOutcome(result: HttpResult): Outcome {
  const response = commonOutcome(result);
  if (response.kind !== 'response') return response;
  const body = parseJsonBody(response.text);
  const success = transactionBody.safeParse(body);
  if (success.success) return { kind: 'paid', reference: String(success.data.transactionId), code: 'success', message: '' };
  const error = errorBody.safeParse(body);
  if (!error.success) return unreadable(response.status);
  const { errorCode, message = '' } = error.data;
  const listed = listedCode(ERROR_CODES, errorCode);
  switch (listed?.load) {
    case undefined:
      return unlistedCode(errorCode, message, 'payment');
    case 'paid':
      return { kind: 'paid', reference: String(error.data.transactionId ?? ''), code: errorCode, message: 'already applied by an earlier request with this internalPaymentId' };
    case 'retryable':
      return { kind: 'retryable', code: errorCode, message: message || 'CT Payer rejected the credentials', throttled: false };
    case 'declined':
      return { kind: 'declined', code: errorCode, message };
  }
}

function chargeOutcome(result: HttpResult): ReversalOutcome {
  const response = commonOutcome(result, 'reversal');
  if (response.kind !== 'response') return response;
  const body = parseJsonBody(response.text);
  const success = transactionBody.safeParse(body);
  if (success.success) return { kind: 'reversed', reference: String(success.data.transactionId), code: 'success', message: '' };
  const error = errorBody.safeParse(body);
  if (!error.success) return unreadable(response.status, 'reversal');
  const { errorCode, message = '' } = error.data;
  switch (listedCode(ERROR_CODES, errorCode)?.charge) {
    case undefined:
      return unlistedCode(errorCode, message, 'reversal');
    case 'retryable':
      return { kind: 'retryable', code: errorCode, message: message || 'CT Payer rejected the credentials', throttled: false };
    case 'refused':
      return { kind: 'refused', code: errorCode, message };
  }
}

/**
 * A card call moves no money, so every error code, documented or not, is a refusal: nothing is
 * known to have changed, and each card command reads the card before every try, so running it
 * again finds whatever an undocumented code did (docs/providers.md, "CT Payer").
 */
function cardChange(result: HttpResult): CardChange {
  const response = commonOutcome(result, 'change');
  if (response.kind !== 'response') return response;
  const body = parseJsonBody(response.text);
  if (successBody.safeParse(body).success) return { kind: 'done' };
  const error = errorBody.safeParse(body);
  if (!error.success) return unreadable(response.status, 'change');
  return { kind: 'refused', code: error.data.errorCode, message: error.data.message ?? '' };
}

function toCents(dollars: string): number {
  const cents = parseBalanceDollars(dollars);
  if (cents === undefined) throw new Error(`CT Payer sent a balance that is not a dollar amount: ${JSON.stringify(dollars)}`);
  return cents;
}
