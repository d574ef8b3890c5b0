import { z } from 'zod';
import { commonOutcome, parseJsonBody, unreadable } from './contract-rules.js';
import { required, text } from './field-rules.js';
import type { HttpResult } from './http.js';
import type { Outcome, ReversalOutcome, UndecidedOutcome } from './outcome.js';
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

// Codes from the error table. Everything not listed that still comes in a well-formed envelope is
// an error response, so nothing was applied: declined.
const RETRY_LATER = new Set(['80000', '80040', '70000']);

const envelope = z.looseObject({
  ResponseDetails: z.looseObject({
    StatusCode: z.union([z.string(), z.number()]).transform(String),
    StatusName: z.string().optional(),
    StatusDescription: z.string().optional(),
    ServiceId: z.string().optional(),
    SessionId: z.string().optional(),
  }),
});

export const virtualrx: ProviderAdapter<VirtualRxFields, VirtualRxCredentials> = {
  id: 'virtualrx',
  name: 'VirtualRx',
  capabilities: { idempotencyKey: false, lookup: false, reversal: true, balance: false, resendSafeWithoutLedger: false },
  manifest: {
    columns: [
      { name: 'CustId', required: true },
      { name: 'ProgramId', required: true },
      { name: 'ClaimReferenceNumber', required: true },
      { name: 'ClientGroupID', required: true },
      { name: 'ReasonDescription', required: false },
    ],
    row: fields,
    payee: (f) => f.CustId,
    group: (f) => f.ClientGroupID,
  },
  credentials,
  defaultRateLimit: { max: 20, perMs: 1000, marginMs: 250 },
  // Sent as the void's ReasonDescription, whose guard on a Payment is 100 characters.
  reversalReason: required(text({ max: 100 })),
  createClient: (context) => new VirtualRxClient(context),
};

class VirtualRxClient implements ProviderClient<VirtualRxFields> {
  constructor(private readonly context: ClientContext<VirtualRxCredentials>) {}

  async pay(payment: PaymentInstruction<VirtualRxFields>): Promise<Outcome> {
    const result = await this.call('Payment', { ...payment.fields, Amount: String(payment.amountCents) }, payment.beforeSend);
    const answer = readAnswer(result, 'payment');
    if (answer.kind !== 'status') return answer;
    if (answer.code === '0') return { kind: 'paid', reference: answer.reference, code: '0', message: answer.message };
    return { kind: 'declined', code: answer.code, message: answer.message };
  }

  async reverse(reversal: ReversalInstruction<VirtualRxFields>): Promise<ReversalOutcome> {
    const data = { ...reversal.fields, Amount: String(reversal.amountCents), ReasonDescription: reversal.reason };
    const answer = readAnswer(await this.call('VoidPayment', data, reversal.beforeSend), 'reversal');
    if (answer.kind !== 'status') return answer;
    if (answer.code === '0') return { kind: 'reversed', reference: answer.reference, code: '0', message: answer.message };
    // 70038, 40001: the card no longer holds it (or there is no such Payment); 70025: suspended.
    return { kind: 'refused', code: answer.code, message: answer.message };
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
 * lost, throttled), a rejected token and the retry-later codes, else the StatusCode to map.
 */
function readAnswer(result: HttpResult, what: 'payment' | 'reversal'): UndecidedOutcome | { kind: 'status'; code: string; message: string; reference: string } {
  const common = commonOutcome(result, what);
  if (common) return common;
  if (result.kind !== 'response') throw new Error('unreachable');
  if (result.status === 401) {
    return { kind: 'retryable', code: 'HTTP_401', message: 'VirtualRx rejected the bearer token', throttled: false };
  }
  const parsed = envelope.safeParse(parseJsonBody(result.text));
  if (!parsed.success) return unreadable(result.status, what);
  const d = parsed.data.ResponseDetails;
  const message = [d.StatusName, d.StatusDescription].filter((s) => s && s !== 'NA').join(': ');
  if (RETRY_LATER.has(d.StatusCode)) return { kind: 'retryable', code: d.StatusCode, message, throttled: false };
  return { kind: 'status', code: d.StatusCode, message, reference: d.ServiceId ?? d.SessionId ?? '' };
}
