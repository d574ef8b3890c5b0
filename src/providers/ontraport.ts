import { z } from 'zod';
import { StipendError } from '../errors.js';
import { formatDollars } from '../money.js';
import { commonOutcome, listedCode, parseJsonBody, unlistedCode, unreadable } from './contract-rules.js';
import { digits, required, text } from './field-rules.js';
import type { HttpResult } from './http.js';
import { manifestSpec } from './manifest-spec.js';
import type { Outcome, OutcomeKind } from './outcome.js';
import type { CheckResult, ClientContext, PaymentInstruction, ProviderAdapter, ProviderClient } from './types.js';

/**
 * ONTRAPORT Payments API: form-encoded POSTs to /payments.php (appid, key, reqType, data), HTTP 200
 * JSON answers carrying a result_code 1-7. A sale charges the contact's card on file; this program
 * never sends card details. Not idempotent and no lookup: a sale whose outcome is unknown can only
 * be settled by a person, so the worker never sends it again.
 */

// ONTRAPORT documents these ids only by example (contact_id 129278, invoice_id 1, gateway_id 1720,
// product id "1"): numeric. 1 to 10 digits is our own guard, not a documented limit.
const id = () => required(digits({ max: 10 }));

const fields = z.object({
  contact_id: id(),
  invoice_id: id(),
  gateway_id: id(),
  product_id: id(),
  // A sale has no description field: this stays with the payment in the manifest and the ledger
  // for the client's own records and is NOT sent to ONTRAPORT. 100 characters is our guard.
  description: text({ max: 100 }).optional(),
});
export type OntraportFields = z.infer<typeof fields>;

const credentials = z.object({ appid: z.string().min(1), key: z.string().min(1) });
export type OntraportCredentials = z.infer<typeof credentials>;

// ONTRAPORT writes ids as numbers or strings (its own examples mix them); read either as text.
const idText = z.union([z.string(), z.number()]).transform(String);
const saleAnswer = z.looseObject({
  result_code: idText,
  transaction_id: idText.nullish(),
  message: z.string().nullish(),
});
// z.object drops whatever else a listed item carries: callers get exactly {id, name}.
const listing = z.array(z.object({ id: idText, name: z.string() }));
/** A gateway as list_gateways names it. */
export type OntraportListed = z.infer<typeof listing>[number];

/** The result codes ONTRAPORT documents for a sale. */
type ResultCode = '1' | '2' | '3' | '4' | '5' | '6' | '7';

/** The documented result codes, as outcomes (docs/providers.md, "ONTRAPORT"). */
const RESULT_CODES = {
  '1': { kind: 'paid', meaning: 'Good' },
  '2': { kind: 'declined', meaning: 'Bad data' },
  '3': { kind: 'declined', meaning: 'Something wrong with the gateway account' },
  // "Problem with our api": ONTRAPORT itself failed before charging; nothing applied, retry later.
  '4': { kind: 'retryable', meaning: 'Problem with our api' },
  // 5 and 7 come after the charge went to the gateway, which may have applied it.
  '5': { kind: 'unknown', meaning: 'Problem with the remote gateway api' },
  '6': { kind: 'declined', meaning: 'Problem with gateway credentials' },
  '7': { kind: 'unknown', meaning: 'Problem with the connection' },
} as const satisfies Record<ResultCode, { kind: OutcomeKind; meaning: string }>;

/** A call that moves no money (list_gateways) got no usable answer. */
export class OntraportQueryError extends StipendError {
  constructor(reqType: string, reason: string) {
    super('ONTRAPORT_QUERY_FAILED', `ONTRAPORT ${reqType}: ${reason}`);
  }
}

export const ontraport = {
  id: 'ontraport',
  name: 'ONTRAPORT',
  capabilities: { idempotencyKey: false, resendSafeWithoutLedger: false },
  manifest: manifestSpec(fields, { payee: (f) => f.contact_id }),
  credentials,
  // The documented limit: 180 requests per minute per ONTRAPORT account.
  defaultRateLimit: { max: 180, perMs: 60_000, marginMs: 250 },
  createClient: (context) => new OntraportClient(context),
} satisfies ProviderAdapter<OntraportFields, OntraportCredentials, OntraportClient>;

export class OntraportClient implements ProviderClient<OntraportFields> {
  constructor(private readonly context: ClientContext<OntraportCredentials>) {}

  async pay(payment: PaymentInstruction<OntraportFields>): Promise<Outcome> {
    const f = payment.fields;
    // Ids typed as the documented example has them: contact, invoice and gateway as numbers (at most
    // 10 digits, so exact), the product id as a string.
    const data = {
      contact_id: Number(f.contact_id),
      invoice_id: Number(f.invoice_id),
      gateway_id: Number(f.gateway_id),
      use_card_on_file: 'yes',
      products: [{ id: f.product_id, quantity: '1', price: formatDollars(payment.amountCents), type: 'single' }],
    };
    return saleOutcome(await this.call('sale', { data: JSON.stringify(data) }, payment.beforeSend));
  }

  async check(): Promise<CheckResult> {
    try {
      const gateways = await this.listGateways();
      return { status: 'ok', detail: `list_gateways answered: ${gateways.length} gateway${gateways.length === 1 ? '' : 's'}` };
    } catch (error) {
      if (error instanceof OntraportQueryError) return { status: 'failed', detail: error.message };
      throw error;
    }
  }

  listGateways(): Promise<OntraportListed[]> {
    return this.list('list_gateways');
  }

  async close(): Promise<void> {}

  private async list(reqType: string): Promise<OntraportListed[]> {
    const result = await this.call(reqType, {});
    if (result.kind !== 'response') throw new OntraportQueryError(reqType, result.error);
    if (result.status !== 200) throw new OntraportQueryError(reqType, `HTTP ${result.status}${result.status === 401 ? ' (appid and key were refused)' : ''}`);
    const parsed = listing.safeParse(parseJsonBody(result.text));
    if (!parsed.success) throw new OntraportQueryError(reqType, 'the answer is not a list of {id, name}');
    return parsed.data;
  }

  private call(reqType: string, params: Record<string, string>, beforeSend?: () => Promise<void>): Promise<HttpResult> {
    const { baseUrl, credentials: c, send } = this.context;
    return send({
      method: 'POST',
      url: `${baseUrl.replace(/\/$/, '')}/payments.php`,
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: new URLSearchParams({ appid: c.appid, key: c.key, reqType, ...params }).toString(),
      ...(beforeSend ? { beforeSend } : {}),
    });
  }
}

function saleOutcome(result: HttpResult): Outcome {
  const response = commonOutcome(result);
  if (response.kind !== 'response') return response;
  if (response.status === 401) {
    // Nothing applied; the account's appid/key need fixing, which no retry can do by itself.
    return { kind: 'retryable', code: 'HTTP_401', message: 'ONTRAPORT rejected the appid and key', throttled: false };
  }
  const parsed = saleAnswer.safeParse(parseJsonBody(response.text));
  if (!parsed.success) return unreadable(response.status);
  const { result_code: code, transaction_id: reference, message: detail } = parsed.data;
  const documented = listedCode(RESULT_CODES, code);
  if (documented === undefined) return unlistedCode(code, detail ?? '', 'payment');
  const message = detail ? `${documented.meaning}: ${detail}` : documented.meaning;
  switch (documented.kind) {
    case 'paid':
      return { kind: 'paid', reference: reference ?? '', code, message };
    case 'retryable':
      return { kind: 'retryable', code, message, throttled: false };
    case 'declined':
      return { kind: 'declined', code, message };
    case 'unknown':
      return { kind: 'unknown', code, message: `${message}; the payment may have been applied` };
  }
}
