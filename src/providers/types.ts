import type { z } from 'zod';
import type { HttpSend } from './http.js';
import type { Outcome, ReversalOutcome, UndecidedOutcome } from './outcome.js';

/**
 * The one list of providers. The registries keyed by it are exhaustive records (adapters, sandboxes,
 * sandbox ports, the sandbox accounts), so a provider added here is refused by the compiler until
 * each of them has it.
 */
export const PROVIDER_IDS = ['ctpayer', 'ptapi', 'ontraport', 'clientpay', 'virtualrx'] as const;
export type ProviderId = (typeof PROVIDER_IDS)[number];

/**
 * What a provider promises about resending, so the rest of the system asks instead of checking a
 * provider's name. What it can do besides paying comes with its methods, as the adapter's optional
 * capability objects (ProviderAdapter.lookup, reversal, balance, cards): present means able.
 */
export interface Capabilities {
  /**
   * Resending a payment with the same key never pays twice (CT Payer internalPaymentId, ClientPay
   * requestId). The client then sends PaymentInstruction.idempotencyKey with every attempt.
   */
  idempotencyKey: boolean;
  /**
   * The provider itself refuses to apply the same payment twice whatever our ledger remembers: the
   * key it dedupes on is derived from the payment alone (CT Payer's internalPaymentId is the payment
   * id). Only then is a sending mark Redis lost harmless, since the resend it causes is refused; a
   * key the provider issued (ClientPay) lives in the ledger and is lost with it
   * (sending/durability.ts).
   */
  resendSafeWithoutLedger: boolean;
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
  /** One per field of `row`, as manifestSpec (manifest-spec.ts) derives them. */
  columns: readonly ManifestColumn[];
  row: z.ZodType<Fields>;
  /** Who receives the money, as shown in reports (a card id or customer id; never a card number). */
  payee(fields: Fields): string;
  /** The provider's group of similar payments, where it has one (finance exports group by it). */
  group?(fields: Fields): string | undefined;
}

/** One payment as the worker hands it to an adapter. */
export interface PaymentInstruction<Fields> {
  /** The client's payment id (CT Payer internalPaymentId, PT API externalId). */
  paymentId: string;
  /**
   * The key this payment is sent with on every attempt: the payment id, or one the provider issued
   * (ProviderClient.issueIdempotencyKey), recorded in the ledger before the first call.
   */
  idempotencyKey: string;
  amountCents: number;
  fields: Fields;
  /**
   * The adapter passes this with the one request that can move money (HttpRequest.beforeSend), and
   * with no other: the worker records that the payment is being sent only once it really is, after
   * any wait for the rate limit, a login or a key.
   */
  beforeSend?: () => Promise<void>;
}

/** A paid payment to give back, as `stipend reverse` hands it to an adapter. */
export interface ReversalInstruction<Fields> {
  paymentId: string;
  /** The amount paid, all of which comes back. */
  amountCents: number;
  /** The payment's fields as it was sent (VirtualRx voids by them; CT Payer charges the card). */
  fields: Fields;
  /** The provider's reference of the payment being reversed. */
  paymentReference: string;
  /** Why, as a person gave it; already checked against the adapter's reversal.reason. */
  reason: string;
  /**
   * Passed with the one request that can move money, as PaymentInstruction.beforeSend: the ledger
   * records the reversal as under way only once the request really leaves.
   */
  beforeSend?: () => Promise<void>;
}

/** What asking the provider about an earlier, in-doubt payment found. */
export type LookupResult =
  | { found: true; reference: string; message: string }
  | { found: false }
  /** The question itself got no usable answer; the doubt remains. */
  | { found: 'unknown'; outcome: Outcome };

/** A key the provider issued for one payment, or why none could be had (nothing was paid). */
export type IssuedKey = { ok: true; key: string } | { ok: false; outcome: Outcome };

/**
 * A value every worker process of one account shares through Redis (ClientPay's accessId), renewed
 * by one process at a time.
 */
export interface SharedSession {
  get(): Promise<string | undefined>;
  /**
   * Replaces `stale` (undefined: nothing yet) with `obtain()`'s value, once across all processes:
   * whoever holds the lock renews; the others wait and get the value it stored. When the stored
   * value already differs from `stale`, someone renewed it meanwhile and that value is returned.
   */
  renew(stale: string | undefined, obtain: () => Promise<string>): Promise<string>;
}

export interface CheckResult {
  /** unverifiable: the provider documents no call that proves credentials without moving money. */
  status: 'ok' | 'failed' | 'unverifiable';
  detail: string;
}

export interface ProviderClient<Fields> {
  pay(payment: PaymentInstruction<Fields>): Promise<Outcome>;
  /** Where the provider issues the idempotency key (ClientPay /request-id): a fresh one. */
  issueIdempotencyKey?(): Promise<IssuedKey>;
  /** Prove the credentials work with a call that moves no money. */
  check(): Promise<CheckResult>;
  close(): Promise<void>;
}

/*
 * The capabilities an adapter may have, each with its method. A method takes the client the same
 * adapter created (createClient), which holds the account's session and rate limit.
 */

/** The provider can be asked whether a payment was applied (PT API externalId). Never moves money. */
export interface LookupCapability<Client, Fields> {
  find(client: Client, payment: PaymentInstruction<Fields>): Promise<LookupResult>;
}

/** An applied payment can be given back through the API. Never resent by the caller after an unknown outcome. */
export interface ReversalCapability<Client, Fields> {
  /** The reason a reversal may carry (CT Payer: at most 45 characters). */
  reason: z.ZodType<string>;
  reverse(client: Client, reversal: ReversalInstruction<Fields>): Promise<ReversalOutcome>;
}

/** The funding balance can be read before a batch: cents, or an error when it cannot be read. */
export interface BalanceCapability<Client> {
  fundingBalanceCents(client: Client): Promise<number>;
}

/** A card as the provider describes it (CT Payer getcarddetails). */
export interface CardDetails {
  cardId: string;
  participantId: string;
  cardStatus: string;
  balanceCents: number;
}

/** What a card call did: done, refused (nothing changed), or the common retry-later and in-doubt answers. */
export type CardChange = { kind: 'done' } | { kind: 'refused'; code: string; message: string } | UndecidedOutcome;

/** Card lifecycle calls (CT Payer assigncard, setcardstatus, getcarddetails). None moves money. */
export interface CardCapability<Client> {
  /** Gives an UNASSIGNED card to a participant. */
  assign(client: Client, cardId: string, participantId: string): Promise<CardChange>;
  /** Cancels a card for good; what it still holds stays on it. */
  cancel(client: Client, cardId: string, reason: string): Promise<CardChange>;
  /** Reads a card; throws when the provider gives no usable answer. */
  details(client: Client, cardId: string): Promise<CardDetails>;
}

export interface ClientContext<Credentials> {
  baseUrl: string;
  credentials: Credentials;
  /** Every request goes through this: the account's shared rate limit applies to all of them. */
  send: HttpSend;
  /** The account's session shared by all worker processes, for providers that need one. */
  session: SharedSession;
}

export interface ProviderAdapter<
  Fields = Record<string, string | undefined>,
  Credentials = Record<string, string>,
  Client extends ProviderClient<Fields> = ProviderClient<Fields>,
> {
  id: ProviderId;
  /** The provider's name as people know it. */
  name: string;
  capabilities: Capabilities;
  manifest: ManifestSpec<Fields>;
  credentials: z.ZodType<Credentials>;
  /** Requests per window the provider documents, or a cautious default where it documents none. */
  defaultRateLimit: { max: number; perMs: number; marginMs: number };
  createClient(context: ClientContext<Credentials>): Client;
  // What the provider can do besides paying, each present only where it can (docs/providers.md,
  // "What each adapter declares").
  lookup?: LookupCapability<Client, Fields>;
  reversal?: ReversalCapability<Client, Fields>;
  balance?: BalanceCapability<Client>;
  cards?: CardCapability<Client>;
}
