import { z } from 'zod';
import { formatDollars } from '../money.js';
import {
  formParams,
  type Answer,
  distinct,
  firstIssue,
  type Journal,
  json,
  methodNotAllowed,
  notFound,
  parseSeed,
  type Protocol,
  refusal,
} from './core.js';

/**
 * CT Payer as its API documentation and docs/providers.md ("CT Payer") describe it:
 * form-encoded POSTs to /<resource>.php, HTTP 200 JSON `{"status":"success",…}` or
 * `{"status":"error","errorCode","message"}`, HTTP 401 for bad credentials, balances as dollar
 * strings. Loads are idempotent on internalPaymentId. A parameter the call does not document is
 * INVALID_PARAMETER (see endpoint below).
 */

const cents = z.number().int().nonnegative();
const seedSchema = z.object({
  accounts: z
    .array(
      z.object({
        label: z.string().min(1),
        username: z.string().min(1),
        password: z.string().min(1),
        fundingBalanceCents: cents,
        cards: z
          .array(
            z.object({
              cardId: z.string().regex(/^\d{10}$/),
              /** Empty for an UNASSIGNED card. */
              participantId: z.string().max(40),
              status: z.enum(['UNASSIGNED', 'ACTIVE', 'CANCELED']),
              balanceCents: cents,
            }),
          )
          .refine((cards) => distinct(cards, (c) => c.cardId), 'card ids must be unique'),
      }),
    )
    .min(1)
    .refine((accounts) => distinct(accounts, (a) => a.username) && distinct(accounts, (a) => a.label), 'usernames and labels must be unique'),
});
type SeedAccount = z.infer<typeof seedSchema>['accounts'][number];
type Card = SeedAccount['cards'][number];
interface Account extends Omit<SeedAccount, 'cards'> {
  cards: Map<string, Card>;
  /** internalPaymentId → transactionId of every load applied with one. */
  loads: Map<string, string>;
}

// ---- Parameters, with the documented limits ------------------------------------------------

// Characters, not bytes or UTF-16 units: the document says "30 characters max, including spaces".
const characters = (value: string) => [...value].length;
const given = z.string({ error: 'is required' });
const upTo = (max: number) => given.refine((v) => characters(v) <= max, `must be at most ${max} characters`);
const cardId = given.regex(/^\d{10}$/, 'must be exactly 10 digits');
const amount = given
  .regex(/^\d{1,9}\.\d{2}$/, 'must be dollars with two decimals, e.g. 12.50')
  // "12.50" → 1250 by dropping the point: no floating point near money.
  .transform((dollars) => Number(dollars.replace('.', '')))
  .refine((c) => c > 0, 'must be more than 0.00');
const internalPaymentId = given.regex(/^[A-Za-z0-9_-]{1,40}$/, 'must be 1 to 40 letters, digits, - or _');
// Only immediate payments exist, so a well-formed date is accepted and the load applied now.
const paymentDate = given.regex(/^\d{2}\/\d{2}\/\d{4} \d{2}:\d{2}:\d{2}$/, 'must be MM/DD/YYYY HH:MM:SS');
const apiusername = given;

type Params = Record<string, string>;
type Endpoint = (params: Params, account: Account, journal: Journal) => Answer;

/**
 * A call's handler behind its parameter check. The schema lists every parameter the call documents
 * besides username and password, and any other is refused: the documentation lists each call's
 * parameters, so the real API may refuse others, and an adapter that sends one (echo with
 * apiusername) must fail its tests here rather than in production.
 */
function endpoint<S extends z.ZodObject>(schema: S, run: (params: z.output<S>, account: Account, journal: Journal) => Answer): Endpoint {
  return (params, account, journal) => {
    // Own keys only: "constructor" is no more a parameter than any other undocumented name.
    const undocumented = Object.keys(params).find((name) => !Object.hasOwn(schema.shape, name));
    if (undocumented !== undefined) return failure('INVALID_PARAMETER', `${undocumented} is not a parameter of this call`);
    const parsed = schema.safeParse(params);
    if (!parsed.success) {
      const { field, message } = firstIssue(parsed.error);
      return failure('INVALID_PARAMETER', `${field} ${message}`);
    }
    return run(parsed.data, account, journal);
  };
}

const ENDPOINTS = new Map<string, Endpoint>([
  ['/echo.php', endpoint(z.object({}), () => success({}))],
  [
    '/assigncard.php',
    endpoint(z.object({ cardId, participantId: upTo(40), apiusername }), (p, account) =>
      withCard(account, p.cardId, (card) => {
        // Only an UNASSIGNED card can be assigned. Another state is INVALID_PARAMETER naming cardId:
        // CARD_NOT_ACTIVE would tell the caller an ACTIVE card is inactive.
        if (card.status !== 'UNASSIGNED') return failure('INVALID_PARAMETER', `cardId ${card.cardId} is ${card.status}; only an UNASSIGNED card can be assigned`);
        card.status = 'ACTIVE';
        card.participantId = p.participantId;
        return success({ cardId: card.cardId, participantId: card.participantId });
      }),
    ),
  ],
  [
    '/loadcard.php',
    endpoint(
      z.object({
        cardId,
        internalPaymentId: internalPaymentId.optional(),
        amount,
        description: upTo(30),
        groupId: upTo(15).optional(),
        paymentDate: paymentDate.optional(),
        apiusername,
      }),
      (p, account, journal) => {
        // Before any card or funds check: a resend must learn it was paid even if the card has
        // since been canceled or the funding account drained.
        const earlier = p.internalPaymentId === undefined ? undefined : account.loads.get(p.internalPaymentId);
        if (earlier !== undefined) {
          return failure('DUPLICATE_PAYMENT', `internalPaymentId ${p.internalPaymentId} was already applied as transaction ${earlier}`, { transactionId: earlier });
        }
        return withActiveCard(account, p.cardId, (card) => {
          if (account.fundingBalanceCents < p.amount) {
            return failure('INSUFFICIENT_FUNDS', `the funding account holds ${formatDollars(account.fundingBalanceCents)}, less than ${formatDollars(p.amount)}`);
          }
          account.fundingBalanceCents -= p.amount;
          card.balanceCents += p.amount;
          const applied = journal.record({
            id: transactionId(journal),
            kind: 'load',
            account: account.label,
            payee: card.cardId,
            amountCents: p.amount,
            ...(p.internalPaymentId === undefined ? {} : { key: p.internalPaymentId }),
            description: p.description,
          });
          if (p.internalPaymentId !== undefined) account.loads.set(p.internalPaymentId, applied.id);
          return moved(applied.id, card, p.amount);
        });
      },
    ),
  ],
  [
    '/chargecard.php',
    endpoint(z.object({ cardId, amount, reason: upTo(45), apiusername }), (p, account, journal) =>
      withActiveCard(account, p.cardId, (card) => {
        if (card.balanceCents < p.amount) {
          return failure('INSUFFICIENT_FUNDS', `card ${card.cardId} holds ${formatDollars(card.balanceCents)}, less than ${formatDollars(p.amount)}`);
        }
        card.balanceCents -= p.amount;
        account.fundingBalanceCents += p.amount;
        const applied = journal.record({
          id: transactionId(journal),
          kind: 'unload',
          account: account.label,
          payee: card.cardId,
          amountCents: p.amount,
          description: p.reason,
        });
        return moved(applied.id, card, p.amount);
      }),
    ),
  ],
  [
    '/setcardstatus.php',
    endpoint(z.object({ cardId, reason: upTo(45), apiusername }), (p, account) =>
      withCard(account, p.cardId, (card) => {
        if (card.status === 'CANCELED') return failure('CARD_NOT_ACTIVE', `card ${card.cardId} is already CANCELED`);
        card.status = 'CANCELED';
        return success({ cardId: card.cardId, cardStatus: card.status });
      }),
    ),
  ],
  [
    '/getcardbalance.php',
    endpoint(z.object({ cardId, apiusername }), (p, account) =>
      withCard(account, p.cardId, (card) => success({ cardId: card.cardId, cardBalance: formatDollars(card.balanceCents) })),
    ),
  ],
  ['/getaccountbalance.php', endpoint(z.object({ apiusername }), (_, account) => success({ accountBalance: formatDollars(account.fundingBalanceCents) }))],
  [
    '/getcarddetails.php',
    endpoint(z.object({ cardId, apiusername }), (p, account) =>
      withCard(account, p.cardId, (card) =>
        success({ cardId: card.cardId, participantId: card.participantId, cardStatus: card.status, cardBalance: formatDollars(card.balanceCents) }),
      ),
    ),
  ],
]);

// ---- Answers -------------------------------------------------------------------------------

function success(fields: Record<string, string>): Answer {
  return json(200, { status: 'success', ...fields });
}

function failure(errorCode: string, message: string, extra: Record<string, string> = {}): Answer {
  return json(errorCode === 'AUTH_FAILED' ? 401 : 200, { status: 'error', errorCode, message, ...extra });
}

function moved(transactionId: string, card: Card, amountCents: number): Answer {
  return success({ transactionId, cardId: card.cardId, amount: formatDollars(amountCents), cardBalance: formatDollars(card.balanceCents) });
}

function withCard(account: Account, id: string, run: (card: Card) => Answer): Answer {
  const card = account.cards.get(id);
  return card ? run(card) : failure('CARD_NOT_FOUND', `no card ${id} on this account`);
}

function withActiveCard(account: Account, id: string, run: (card: Card) => Answer): Answer {
  return withCard(account, id, (card) => (card.status === 'ACTIVE' ? run(card) : failure('CARD_NOT_ACTIVE', `card ${id} is ${card.status}`)));
}

const transactionId = (journal: Journal) => String(10_000_000 + journal.nextSequence());

/** The form parameters, empty ones left out (an empty optional parameter is an absent one). */
export const ctpayerProtocol: Protocol = {
  provider: 'ctpayer',
  open(seed, journal) {
    const accounts = new Map<string, Account>(
      parseSeed('ctpayer', seedSchema, seed).accounts.map((a) => [a.username, { ...a, cards: new Map(a.cards.map((c) => [c.cardId, c])), loads: new Map() }]),
    );
    return {
      route(request) {
        const run = ENDPOINTS.get(request.path);
        if (!run) return notFound(request.path);
        if (request.method !== 'POST') return methodNotAllowed('POST');
        const { password, ...fields } = formParams(request);
        const { username, ...params } = fields;
        const account = accounts.get(username ?? '');
        return {
          account: account?.label,
          fields,
          payment: request.path === '/loadcard.php',
          handle: () =>
            account !== undefined && account.password === password
              ? run(params, account, journal)
              : failure('AUTH_FAILED', 'username and password do not match a CT Payer account'),
          // CT Payer documents no "try again later" error code, so this is the contracts' HTTP 503.
          retryLater: (seconds) => refusal(503, 'CT Payer is temporarily unavailable; nothing was applied', seconds),
          answerCode: (code) => failure(code, `error ${code} (a sandbox fault)`),
        };
      },
      state: () => ({
        accounts: [...accounts.values()].map((a) => ({
          label: a.label,
          fundingBalanceCents: a.fundingBalanceCents,
          cards: [...a.cards.values()].map((card) => ({ ...card })),
        })),
      }),
    };
  },
};
