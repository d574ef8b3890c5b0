import { z } from 'zod';
import { commonOutcome, listedCode, parseJsonBody, unlistedCode, unreadable } from './contract-rules.js';
import { required, text } from './field-rules.js';
import type { HttpResult } from './http.js';
import { manifestSpec } from './manifest-spec.js';
import type { Outcome, OutcomeKind, ReversalOutcome, ReversalOutcomeKind, UndecidedOutcome } from './outcome.js';
import type { CheckResult, ClientContext, PaymentInstruction, ProviderAdapter, ProviderClient, ReversalInstruction } from './types.js';

/**
 * VirtualRx: JSON `{ServiceName, data}` envelopes to /jsonapi.php with a Bearer token, always
 * HTTP 200 with ResponseDetails.StatusCode. Not idempotent and no lookup: a Payment whose answer
 * is lost can only be settled by a person, so the worker never sends it again.
 *
 * A reversal is a VoidPayment with the Payment's own data fields (docs/providers.md,
 * "VirtualRx"), the reason in ReasonDescription (VirtualRx's description linked to the
 * transaction). A void is not idempotent either: its only refusal for "nothing to void", 70038, is
 * documented as "funds are not available on the card", which does not prove an earlier void
 * applied, and a resend could void another Payment with the same fields. So a void whose answer is
 * lost is settled by a person too.
 */

// VirtualRx documents which fields are required but no lengths; 50 characters is our own guard
// against oversize or pasted-in cells, far above the identifiers in its examples.
const id = () => required(text({ max: 50 }));

const fields = z.object({
  CustId: id(),
  ProgramId: id(),
  ClaimReferenceNumber: id(),
  ClientGroupID: id(),
  ReasonDescription: text({ max: 100 }).optional(),
});
export type VirtualRxFields = z.infer<typeof fields>;

const credentials = z.object({ token: z.string().min(1) });
export type VirtualRxCredentials = z.infer<typeof credentials>;

/** The StatusCodes VirtualRx documents in its error table (docs/providers.md, "VirtualRx"). */
type StatusCode = '0' | '80000' | '80040' | '70000' | '70022' | '70025' | '70061' | '70062' | '70063' | '70038' | '40001';

/** Each documented StatusCode, as the outcome of a Payment and of a VoidPayment. */
const STATUS_CODES = {
  '0': { payment: 'paid', void: 'reversed' },
  // Nothing applied, retry later; not a throttle.
  '80000': { payment: 'retryable', void: 'retryable' },
  '80040': { payment: 'retryable', void: 'retryable' },
  '70000': { payment: 'retryable', void: 'retryable' },
  // The card is not issued, or suspended; the load is above a limit.
  '70022': { payment: 'declined', void: 'refused' },
  '70025': { payment: 'declined', void: 'refused' },
  '70061': { payment: 'declined', void: 'refused' },
  '70062': { payment: 'declined', void: 'refused' },
  '70063': { payment: 'declined', void: 'refused' },
  // Nothing left to void (or no such Payment); the available balance is too low. Refusals of a
  // load too, whatever they would mean there.
  '70038': { payment: 'declined', void: 'refused' },
  '40001': { payment: 'declined', void: 'refused' },
} as const satisfies Record<StatusCode, { payment: OutcomeKind; void: ReversalOutcomeKind }>;

const envelope = z.looseObject({
  ResponseDetails: z.looseObject({
    StatusCode: z.union([z.string(), z.number()]).transform(String),
    StatusName: z.string().optional(),
    StatusDescription: z.string().optional(),
    ServiceId: z.string().optional(),
    SessionId: z.string().optional(),
  }),
});

export const virtualrx = {
  id: 'virtualrx',
  name: 'VirtualRx',
  capabilities: { idempotencyKey: false, resendSafeWithoutLedger: false },
  manifest: manifestSpec(fields, { payee: (f) => f.CustId, group: (f) => f.ClientGroupID }),
  credentials,
  defaultRateLimit: { max: 20, perMs: 1000, marginMs: 250 },
  createClient: (context) => new VirtualRxClient(context),
  reversal: {
    // Sent as the void's ReasonDescription, whose guard on a Payment is 100 characters.
    reason: required(text({ max: 100 })),
    reverse: (client, reversal) => client.reverse(reversal),
  },
} satisfies ProviderAdapter<VirtualRxFields, VirtualRxCredentials, VirtualRxClient>;

export class VirtualRxClient implements ProviderClient<VirtualRxFields> {
  constructor(private readonly context: ClientContext<VirtualRxCredentials>) {}

  async pay(payment: PaymentInstruction<VirtualRxFields>): Promise<Outcome> {
    const result = await this.call('Payment', { ...payment.fields, Amount: String(payment.amountCents) }, payment.beforeSend);
    const answer = readAnswer(result, 'payment');
    if (answer.kind !== 'status') return answer;
    const { code, message, reference } = answer;
    switch (listedCode(STATUS_CODES, code)?.payment) {
      case undefined:
        return unlistedCode(code, message, 'payment');
      case 'paid':
        return { kind: 'paid', reference, code, message };
      case 'retryable':
        return { kind: 'retryable', code, message, throttled: false };
      case 'declined':
        return { kind: 'declined', code, message };
    }
  }

  async reverse(reversal: ReversalInstruction<VirtualRxFields>): Promise<ReversalOutcome> {
    const data = { ...reversal.fields, Amount: String(reversal.amountCents), ReasonDescription: reversal.reason };
    const answer = readAnswer(await this.call('VoidPayment', data, reversal.beforeSend), 'reversal');
    if (answer.kind !== 'status') return answer;
    const { code, message, reference } = answer;
    switch (listedCode(STATUS_CODES, code)?.void) {
      case undefined:
        return unlistedCode(code, message, 'reversal');
      case 'reversed':
        return { kind: 'reversed', reference, code, message };
      case 'retryable':
        return { kind: 'retryable', code, message, throttled: false };
      case 'refused':
        return { kind: 'refused', code, message };
    }
  }

  private call(serviceName: 'Payment' | 'VoidPayment', data: Record<string, string | undefined>, beforeSend?: () => Promise<void>): Promise<HttpResult> {
    const { baseUrl, credentials: c, send } = this.context;
    return send({
      method: 'POST',
      url: `${baseUrl.replace(/\/$/, '')}/jsonapi.php`,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${c.token}` },
      body: JSON.stringify({ ServiceName: serviceName, data }),
      ...(beforeSend ? { beforeSend } : {}),
    });
  }

  async check(): Promise<CheckResult> {
    return { status: 'unverifiable', detail: 'VirtualRx documents no call that moves no money; the token is proven by the first payment' };
  }

  async close(): Promise<void> {}
}

/**
 * The envelope's verdict shared by Payment and VoidPayment: what the contracts settle (nothing sent,
 * lost, throttled) and a rejected token, else the StatusCode to map.
 */
function readAnswer(result: HttpResult, what: 'payment' | 'reversal'): UndecidedOutcome | { kind: 'status'; code: string; message: string; reference: string } {
  const response = commonOutcome(result, what);
  if (response.kind !== 'response') return response;
  if (response.status === 401) {
    return { kind: 'retryable', code: 'HTTP_401', message: 'VirtualRx rejected the bearer token', throttled: false };
  }
  const parsed = envelope.safeParse(parseJsonBody(response.text));
  if (!parsed.success) return unreadable(response.status, what);
  const d = parsed.data.ResponseDetails;
  const message = [d.StatusName, d.StatusDescription].filter((s) => s && s !== 'NA').join(': ');
  return { kind: 'status', code: d.StatusCode, message, reference: d.ServiceId ?? d.SessionId ?? '' };
}
