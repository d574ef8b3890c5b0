import type { z } from 'zod';
import type { HttpSend } from './http.js';
import type { Outcome } from './outcome.js';

export const PROVIDER_IDS = ['ctpayer', 'ptapi', 'ontraport', 'clientpay', 'virtualrx'] as const;
export type ProviderId = (typeof PROVIDER_IDS)[number];

/** What a provider can do, so the rest of the system asks instead of checking a provider's name. */
export interface Capabilities {
  /** Resending a payment with the same key never pays twice (CT Payer internalPaymentId). */
  idempotencyKey: boolean;
  /** The provider can be asked whether a payment was applied (PT API externalId lookup). */
  lookup: boolean;
  /** An applied payment can be reversed through the API. */
  reversal: boolean;
  /** The funding balance can be read before a batch. */
  balance: boolean;
}

export interface ManifestColumn {
  /** The provider's documented field name; manifest headers match it case-insensitively. */
  name: string;
  required: boolean;
}

/**
 * The provider's part of a manifest row. `row` receives the provider's columns (documented names,
 * empty cells as undefined) and returns the wire fields; its messages become report problems.
 */
export interface ManifestSpec<Fields> {
  columns: readonly ManifestColumn[];
  row: z.ZodType<Fields>;
  /** Who receives the money, as shown in reports (a card id or customer id; never a card number). */
  payee(fields: Fields): string;
}

/** One payment as the worker hands it to an adapter. */
export interface PaymentInstruction<Fields> {
  /** The client's payment id: the idempotency key or external id where the provider takes one. */
  paymentId: string;
  amountCents: number;
  fields: Fields;
}

export interface CheckResult {
  /** unverifiable: the provider documents no call that proves credentials without moving money. */
  status: 'ok' | 'failed' | 'unverifiable';
  detail: string;
}

export interface ProviderClient<Fields> {
  pay(payment: PaymentInstruction<Fields>): Promise<Outcome>;
  /** Prove the credentials work with a call that moves no money. */
  check(): Promise<CheckResult>;
  /** Funding balance in cents, where `capabilities.balance`. */
  fundingBalanceCents?(): Promise<number>;
  close(): Promise<void>;
}

export interface ClientContext<Credentials> {
  baseUrl: string;
  credentials: Credentials;
  send: HttpSend;
}

export interface ProviderAdapter<Fields = Record<string, string | undefined>, Credentials = Record<string, string>> {
  id: ProviderId;
  /** The provider's name as people know it. */
  name: string;
  capabilities: Capabilities;
  manifest: ManifestSpec<Fields>;
  credentials: z.ZodType<Credentials>;
  /** Requests per window the provider documents, or a cautious default where it documents none. */
  defaultRateLimit: { max: number; perMs: number; marginMs: number };
  createClient(context: ClientContext<Credentials>): ProviderClient<Fields>;
}
