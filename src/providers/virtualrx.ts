import { z } from 'zod';
import { commonOutcome, parseJsonBody, unreadable } from './contract-rules.js';
import { required, text } from './field-rules.js';
import type { Outcome } from './outcome.js';
import type { CheckResult, ClientContext, PaymentInstruction, ProviderAdapter, ProviderClient } from './types.js';

/**
 * VirtualRx: JSON `{ServiceName, data}` envelopes to /jsonapi.php with a Bearer token, always
 * HTTP 200 with ResponseDetails.StatusCode. Not idempotent and no lookup: a Payment whose answer
 * is lost can only be settled by a person, so the worker never sends it again.
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
  capabilities: { idempotencyKey: false, lookup: false, reversal: true, balance: false },
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
  createClient: (context) => new VirtualRxClient(context),
};

class VirtualRxClient implements ProviderClient<VirtualRxFields> {
  constructor(private readonly context: ClientContext<VirtualRxCredentials>) {}

  async pay(payment: PaymentInstruction<VirtualRxFields>): Promise<Outcome> {
    const { baseUrl, credentials: c, send } = this.context;
    const result = await send({
      method: 'POST',
      url: `${baseUrl.replace(/\/$/, '')}/jsonapi.php`,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${c.token}` },
      body: JSON.stringify({ ServiceName: 'Payment', data: { ...payment.fields, Amount: String(payment.amountCents) } }),
      ...(payment.beforeSend ? { beforeSend: payment.beforeSend } : {}),
    });
    const common = commonOutcome(result);
    if (common) return common;
    if (result.kind !== 'response') throw new Error('unreachable');
    if (result.status === 401) {
      return { kind: 'retryable', code: 'HTTP_401', message: 'VirtualRx rejected the bearer token', throttled: false };
    }
    const parsed = envelope.safeParse(parseJsonBody(result.text));
    if (!parsed.success) return unreadable(result.status);
    const d = parsed.data.ResponseDetails;
    const message = [d.StatusName, d.StatusDescription].filter((s) => s && s !== 'NA').join(': ');
    if (d.StatusCode === '0') return { kind: 'paid', reference: d.ServiceId ?? d.SessionId ?? '', code: '0', message };
    if (RETRY_LATER.has(d.StatusCode)) return { kind: 'retryable', code: d.StatusCode, message, throttled: false };
    return { kind: 'declined', code: d.StatusCode, message };
  }

  async check(): Promise<CheckResult> {
    return { status: 'unverifiable', detail: 'VirtualRx documents no call that moves no money; the token is proven by the first payment' };
  }

  async close(): Promise<void> {}
}
