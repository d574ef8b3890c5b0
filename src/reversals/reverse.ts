import { refuseIfArchived } from '../ledger/archive-errors.js';
import pLimit from 'p-limit';
import { z } from 'zod';
import type { Actor } from '../audit/actor.js';
import { accountOf } from '../batches/account-of.js';
import { demandConnections } from '../config/connection.js';
import type { Account } from '../config/load.js';
import type { StipendContext } from '../context.js';
import { checkDurability } from '../sending/durability.js';
import { createLogger } from '../log.js';
import { ReversalRefusedError, UsageError } from '../errors.js';
import { isSettled } from '../ledger/batches.js';
import type { PaymentLedger, PaymentRecord, PaymentRef } from '../ledger/payments.js';
import { ReversalLedger } from '../ledger/reversals.js';
import { required, text, withoutCardNumbers } from '../providers/field-rules.js';
import type { AnyAdapter } from '../providers/index.js';
import type { ReversalOutcome } from '../providers/outcome.js';
import { type AccountClient, openAccountClient } from '../sending/account-clients.js';
import { callWindowMs, guardedSend, NotSent, retryWaitMs, type SendClaim } from '../sending/guarded-send.js';

/**
 * `stipend reverse`: gives paid payments of a batch back through the provider (CT Payer chargecard,
 * VirtualRx VoidPayment), each at most once. Everything that could stop it is checked before any
 * request is made; each reversal is claimed in the ledger right before its request leaves (see
 * ledger/reversals.ts) and goes through the account's client and shared rate-limit gate, as a
 * worker's payments do. A reversal whose outcome is unknown is never sent again: it ends
 * `reversal_unknown` for a person to settle with `stipend resolve --reversed | --not-reversed`.
 */

// Whatever the provider allows, a reason is one printable line short enough to read in a report.
// It is stored, reported and sent, so it must not carry a card number, even one typed in passing.
const reasonRule = required(withoutCardNumbers(text({ max: 200 })));

export const reverseRequest = z
  .object({
    batchId: z.string().min(1),
    /** The payments to reverse; or `all`: every paid payment of the batch. */
    paymentIds: z.array(z.string().min(1)).optional(),
    all: z.boolean().optional(),
    reason: z.string(),
  })
  .refine((r) => (r.paymentIds !== undefined && r.paymentIds.length > 0) !== (r.all === true), {
    error: 'say which payments to reverse: --payment-id <id> (repeatable) or --all',
  });
export type ReverseRequest = z.input<typeof reverseRequest>;

export type ReversalResult = { paymentId: string; amountCents: number } & (
  | { kind: 'reversed'; reference: string }
  /** The provider refused; nothing moved and the payment is still paid. */
  | { kind: 'refused'; message: string }
  /** Every attempt was answered "retry later"; nothing moved and the payment is still paid. */
  | { kind: 'retry_later'; message: string }
  /** The money may have come back: a person checks with the provider and records it. */
  | { kind: 'reversal_unknown'; message: string }
  /** The ledger would not let it go (already reversed, being reversed, not paid…). */
  | { kind: 'not_reversible'; message: string }
  /** With --all: a payment that holds no money to give back (never paid, or reversed already). */
  | { kind: 'skipped'; message: string }
);

/** A reversal that is not a success: what makes `stipend reverse` exit non-zero. */
export function isFailure(result: ReversalResult): boolean {
  return result.kind !== 'reversed' && result.kind !== 'skipped';
}

/** How an account's adapter reverses, where its provider can. */
type Reversal = NonNullable<AnyAdapter['reversal']>;

/**
 * No provider has an idempotency key for reversals, so a lost `reversing` claim could send one twice
 * at any provider: the claim is made durable as a keyless payment's sending mark is.
 */
function asKeyless(account: Account): Account {
  const { adapter } = account;
  return { ...account, adapter: { ...adapter, capabilities: { ...adapter.capabilities, resendSafeWithoutLedger: false } } };
}

/** `by`: who asks for the reversals (at the command line personHere, in the console the signed-in person). */
export async function reversePayments(
  context: StipendContext,
  input: ReverseRequest,
  by: Actor,
  onResult: (result: ReversalResult) => void = () => {},
): Promise<ReversalResult[]> {
  const parsed = reverseRequest.safeParse(input);
  if (!parsed.success) throw new UsageError(parsed.error.issues[0]!.message);
  const request = parsed.data;
  const batch = await context.batches.get(request.batchId);
  refuseIfArchived(batch);
  const account = accountOf(context, batch);
  const reversal = checkReversible(account, request.reason);
  // An unset ${VAR} of the account refuses here, before the durability check opens anything.
  demandConnections([account]);
  const payments = context.payments(account);
  const targets = await chooseTargets(context, payments, request);

  const results: ReversalResult[] = [];
  const report = (result: ReversalResult) => {
    results.push(result);
    onResult(result);
  };
  const reversals = new ReversalLedger(context.redis, context.keys, account.provider, account.name);
  const durability = await checkDurability(context, [asKeyless(account)], createLogger());
  const client = await openAccountClient(context, account);
  try {
    const reverser = new PaymentReverser(account, reversal, client, payments, reversals, { reason: request.reason, by }, durability.confirmFor(account));
    const limit = pLimit(account.concurrency);
    await Promise.all(targets.map((record) => limit(async () => report(await reverser.reverse(record, request.all === true)))));
  } finally {
    await client.close();
    await durability.close();
  }
  return results;
}

/**
 * Refuses, before anything moves, a provider that cannot reverse and a reason it would refuse;
 * returns how the provider reverses.
 */
function checkReversible(account: Account, reason: string): Reversal {
  const reversal = reversalOf(account);
  const problem = reasonProblem(account, reason);
  if (problem !== undefined) throw new ReversalRefusedError(`--reason ${problem}; nothing was reversed`);
  return reversal;
}

/** How the account's provider reverses; ReversalRefusedError when it cannot, through its API. */
export function reversalOf(account: Account): Reversal {
  const { adapter } = account;
  if (!adapter.reversal) {
    throw new ReversalRefusedError(
      `${adapter.name} payments cannot be reversed through its API; ask ${adapter.name} to reverse them (its portal or support). Nothing was changed.`,
    );
  }
  return adapter.reversal;
}

/** What is wrong with a reversal's reason (`must be at most 45 characters (has 46) for CT Payer`), or undefined. */
export function reasonProblem(account: Account, reason: string): string | undefined {
  const { adapter } = account;
  const checks = [
    { rule: reasonRule, whose: '' },
    ...(adapter.reversal ? [{ rule: adapter.reversal.reason, whose: ` for ${adapter.name}` }] : []),
  ];
  for (const { rule, whose } of checks) {
    const checked = rule.safeParse(reason);
    if (!checked.success) return `${checked.error.issues[0]!.message}${whose}`;
  }
  return undefined;
}

/** The payments to reverse, every named one checked to exist first: a typo reverses nothing. */
async function chooseTargets(context: StipendContext, payments: PaymentLedger, request: z.output<typeof reverseRequest>): Promise<PaymentRecord[]> {
  const { batchId } = request;
  if (request.paymentIds !== undefined) {
    const records: PaymentRecord[] = [];
    for (const paymentId of new Set(request.paymentIds)) {
      const record = await payments.get({ batchId, paymentId });
      if (!record) throw new UsageError(`batch ${batchId} has no payment ${paymentId}; nothing was reversed`);
      records.push(record);
    }
    return records;
  }
  // A batch still paying would go on paying after "all" of it was reversed.
  const batch = await context.batches.get(batchId);
  if (!isSettled(batch)) throw new UsageError(`batch ${batchId} is still in progress; reverse it once every payment is final (stipend status ${batchId})`);
  const records: PaymentRecord[] = [];
  for await (const page of context.rows.pages(batchId)) {
    for (const row of page) {
      if (row.kind !== 'payment') continue;
      const record = await payments.get({ batchId, paymentId: row.paymentId });
      if (record) records.push(record);
    }
  }
  return records;
}

class PaymentReverser {
  constructor(
    private readonly account: Account,
    private readonly reversal: Reversal,
    private readonly client: AccountClient,
    private readonly payments: PaymentLedger,
    private readonly reversals: ReversalLedger,
    private readonly request: { reason: string; by: Actor },
    /** Where Redis could lose the claim: resolves true once it is durable (sending/durability.ts). */
    private readonly confirmDurable: (() => Promise<boolean>) | undefined,
  ) {}

  async reverse(found: PaymentRecord, all: boolean): Promise<ReversalResult> {
    const ref = { batchId: found.batch_id, paymentId: found.payment_id };
    const record = await this.settleInterrupted(ref, found);
    const base = { paymentId: record.payment_id, amountCents: record.amount_cents };
    if (record.status !== 'paid') {
      const nothingHeld = record.status === 'reversed' || record.status === 'declined' || record.status === 'failed';
      return { ...base, kind: all && nothingHeld ? 'skipped' : 'not_reversible', message: whyNotReversible(record) };
    }
    for (let attempt = 1; ; attempt += 1) {
      const claim = this.reversingClaim(record);
      const outcome = await this.send(record, claim);
      if (outcome instanceof NotSent) {
        // Another run claimed it between our look and our request: nothing was sent by us.
        const now = await this.payments.get(ref);
        return { ...base, kind: 'not_reversible', message: now ? whyNotReversible(now) : 'its record is gone' };
      }
      switch (outcome.kind) {
        case 'reversed':
          await this.reversals.settle(ref, { to: 'reversed', reference: outcome.reference, code: outcome.code, message: outcome.message }, claim.epoch!);
          return { ...base, kind: 'reversed', reference: outcome.reference };
        case 'refused':
          await this.reversals.settle(ref, { to: 'paid', definite: true, code: outcome.code, message: outcome.message }, claim.epoch!);
          return { ...base, kind: 'refused', message: `${outcome.code}: ${outcome.message}` };
        case 'unknown':
          await this.reversals.settle(ref, { to: 'reversal_unknown', code: outcome.code, message: outcome.message }, claim.epoch!);
          return { ...base, kind: 'reversal_unknown', message: `${outcome.code}: ${outcome.message}` };
        case 'retryable': {
          // Nothing moved: the claim is given back, and taken again (by us or by anyone) next time.
          await this.reversals.settle(ref, { to: 'paid', definite: false, code: outcome.code, message: outcome.message }, claim.epoch!);
          if (attempt >= this.account.retry.attempts) {
            return { ...base, kind: 'retry_later', message: `${outcome.code}: ${outcome.message} (${attempt} tries; nothing moved, run stipend reverse again later)` };
          }
          const waitMs = retryWaitMs(this.account, outcome, attempt);
          // The whole account slows down, workers included, as for a throttled payment.
          if (outcome.throttled) await this.client.gate.pause(waitMs);
          await new Promise((resolve) => setTimeout(resolve, waitMs));
        }
      }
    }
  }

  /**
   * One reversal request, claimed in the ledger as it leaves; NotSent when another claim holds the
   * payment. A claim not confirmed durable is retried like a retry-later answer: it is given back,
   * and nothing was sent.
   */
  private async send(record: PaymentRecord, claim: SendClaim<string>): Promise<ReversalOutcome | NotSent<string>> {
    const sent = await guardedSend(claim, (beforeSend) =>
      this.reversal.reverse(this.client.provider, {
        paymentId: record.payment_id,
        amountCents: record.amount_cents,
        fields: record.fields,
        paymentReference: record.reference ?? '',
        reason: this.request.reason,
        beforeSend,
      }),
    );
    if (sent instanceof NotSent && sent.reason === 'not-durable') {
      return { kind: 'retryable', code: 'CLAIM_NOT_DURABLE', message: 'Redis could not confirm the reversal\'s claim durable in time; nothing was sent', throttled: false };
    }
    return sent;
  }

  /**
   * paid → reversing, as the request leaves (ledger/reversals.ts). No reversal request is repeated
   * within its attempt (the reversing providers have no login to renew), so it keeps no claim.
   */
  private reversingClaim(record: PaymentRecord): SendClaim<string> & { epoch?: number } {
    const ref = { batchId: record.batch_id, paymentId: record.payment_id };
    const claim: SendClaim<string> & { epoch?: number } = {
      take: async () => {
        const taken = await this.reversals.claim(ref, this.request.reason, this.request.by);
        if ('refusal' in taken) return taken.refusal;
        claim.epoch = taken.epoch;
        return undefined;
      },
      confirmDurable: this.confirmDurable,
      // Reversing under this claim's epoch: a failover may have lost the claim, and another person's
      // claim since made the payment reversing again.
      stillHeld: () => this.reversals.stillClaimed(ref, claim.epoch!),
    };
    return claim;
  }

  /** A `reversing` claim older than any call can last was cut off (its run stopped): reversal_unknown. */
  private async settleInterrupted(ref: PaymentRef, record: PaymentRecord): Promise<PaymentRecord> {
    if (record.status !== 'reversing') return record;
    if (!(await this.reversals.interrupt(ref, callWindowMs(this.account)))) return record;
    return (await this.payments.get(ref)) ?? record;
  }
}

/** Why the ledger will not reverse a payment, in the words an operator needs. */
export function whyNotReversible(record: PaymentRecord): string {
  const { batch_id: batchId, payment_id: paymentId } = record;
  switch (record.status) {
    case 'reversed':
      return `already reversed on ${record.reversal_settled_at ?? '?'} (reference ${record.reversal_reference ?? '?'}) by ${record.reversal_by ?? '?'}`;
    case 'reversing':
      return `already being reversed, by ${record.reversal_by ?? '?'} since ${record.reversal_requested_at ?? '?'}`;
    case 'reversal_unknown':
      return `an earlier reversal (by ${record.reversal_by ?? '?'} at ${record.reversal_requested_at ?? '?'}) may have applied; check with the provider, then stipend resolve ${batchId} ${paymentId} --reversed <reference> | --not-reversed --by <name>`;
    case 'unknown':
      return `whether it was paid is unknown; settle that first (stipend resolve ${batchId} ${paymentId} --paid <reference> | --not-paid --by <name>)`;
    case 'declined':
    case 'failed':
      return `it was never paid (${record.status})`;
    default:
      return `it is not paid yet (${record.status})`;
  }
}
