import { z } from 'zod';
import { formatDollars, parseBalanceDollars } from '../money.js';
import { commonOutcome, parseJsonBody, unreadable } from './contract-rules.js';
import { digits, required, text } from './field-rules.js';
import type { HttpResult } from './http.js';
import type { Outcome, ReversalOutcome, UndecidedOutcome } from './outcome.js';
import type { CheckResult, ClientContext, PaymentInstruction, ProviderAdapter, ProviderClient, ReversalInstruction } from './types.js';

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

export const ctpayer: ProviderAdapter<CtPayerFields, CtPayerCredentials> = {
  id: 'ctpayer',
  name: 'CT Payer',
  capabilities: { idempotencyKey: true, lookup: false, reversal: true, balance: true, resendSafeWithoutLedger: true },
  manifest: {
    columns: [
      { name: 'cardId', required: true },
      { name: 'description', required: true },
      { name: 'groupId', required: false },
    ],
    row: fields,
    payee: (f) => f.cardId,
    group: (f) => f.groupId,
  },
  credentials,
  defaultRateLimit: { max: 20, perMs: 1000, marginMs: 250 },
  // chargecard's documented limit: "45 characters max, including spaces".
  reversalReason: required(text({ max: 45 })),
  createClient: (context) => new CtPayerClient(context),
};

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
  getcardbalance: { cardId: string; apiusername: string };
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

  async cardBalanceCents(cardId: string): Promise<number> {
    return this.balanceField('getcardbalance', { cardId, apiusername: this.apiusername }, 'cardBalance');
  }

  /** assigncard: gives an UNASSIGNED card to a participant. Moves no money. */
  async assignCard(cardId: string, participantId: string): Promise<CardChange> {
    return cardChange(await this.call('assigncard', { cardId, participantId, apiusername: this.apiusername }));
  }

  /** setcardstatus: cancels a card for good; what it still holds stays on it. Moves no money. */
  async cancelCard(cardId: string, reason: string): Promise<CardChange> {
    return cardChange(await this.call('setcardstatus', { cardId, reason, apiusername: this.apiusername }));
  }

  async cardDetails(cardId: string): Promise<{ cardId: string; participantId: string; cardStatus: string; balanceCents: number }> {
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

  private async balanceField<R extends 'getaccountbalance' | 'getcardbalance'>(resource: R, params: CallParams[R], field: string): Promise<number> {
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
  const common = commonOutcome(result);
  if (common) return common;
  if (result.kind !== 'response') throw new Error('unreachable');
  const body = parseJsonBody(result.text);
  const success = transactionBody.safeParse(body);
  if (success.success) return { kind: 'paid', reference: String(success.data.transactionId), code: 'success', message: '' };
  const error = errorBody.safeParse(body);
  if (!error.success) return unreadable(result.status);
  const { errorCode, message = '' } = error.data;
  switch (errorCode) {
    case 'DUPLICATE_PAYMENT':
      // The load was applied by an earlier send of this internalPaymentId: paid once, not twice.
      return { kind: 'paid', reference: String(error.data.transactionId ?? ''), code: errorCode, message: 'already applied by an earlier request with this internalPaymentId' };
    case 'AUTH_FAILED':
      // Nothing applied; the account's credentials need fixing, which no retry can do by itself.
      return { kind: 'retryable', code: errorCode, message: message || 'CT Payer rejected the credentials', throttled: false };
    default:
      return { kind: 'declined', code: errorCode, message };
  }
}

function chargeOutcome(result: HttpResult): ReversalOutcome {
  const common = commonOutcome(result, 'reversal');
  if (common) return common;
  if (result.kind !== 'response') throw new Error('unreachable');
  const body = parseJsonBody(result.text);
  const success = transactionBody.safeParse(body);
  if (success.success) return { kind: 'reversed', reference: String(success.data.transactionId), code: 'success', message: '' };
  const error = errorBody.safeParse(body);
  if (!error.success) return unreadable(result.status, 'reversal');
  const { errorCode, message = '' } = error.data;
  if (errorCode === 'AUTH_FAILED') {
    return { kind: 'retryable', code: errorCode, message: message || 'CT Payer rejected the credentials', throttled: false };
  }
  // INSUFFICIENT_FUNDS here is the card's: the participant has already spent part of the money.
  return { kind: 'refused', code: errorCode, message };
}

/** What a card call did: done, refused (nothing changed), or the common retry-later and in-doubt answers. */
export type CardChange = { kind: 'done' } | { kind: 'refused'; code: string; message: string } | UndecidedOutcome;

function cardChange(result: HttpResult): CardChange {
  const common = commonOutcome(result, 'change');
  if (common) return common;
  if (result.kind !== 'response') throw new Error('unreachable');
  const body = parseJsonBody(result.text);
  if (successBody.safeParse(body).success) return { kind: 'done' };
  const error = errorBody.safeParse(body);
  if (!error.success) return unreadable(result.status, 'change');
  return { kind: 'refused', code: error.data.errorCode, message: error.data.message ?? '' };
}

function toCents(dollars: string): number {
  const cents = parseBalanceDollars(dollars);
  if (cents === undefined) throw new Error(`CT Payer sent a balance that is not a dollar amount: ${JSON.stringify(dollars)}`);
  return cents;
}
