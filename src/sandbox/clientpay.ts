import { randomBytes, randomUUID } from 'node:crypto';
import { z } from 'zod';
import { formatDollars, parseDollars } from '../money.js';
import { type Answer, distinct, firstIssue, type Journal, json, parseJson, parseSeed, type Protocol, type SandboxRequest } from './core.js';

/**
 * ClientPay as its API documentation and docs/providers.md ("ClientPay") describe it:
 * POST {base}/v2/… only, JSON both ways, amounts as dollar strings, errors
 * `{"error":{"code","message"}}`. Credentials give an accessId; /access-id/new expires the previous
 * one. Payments need a requestId from /request-id: the same requestId and body is answered with the
 * first result, another body with 409 REQUEST_ID_USED.
 *
 * Where the documents leave the choice to us:
 * - An account starts with no accessId, and has none again after /access-id/expire. Then
 *   /access-id/current answers as the account's seed says (`currentWithoutAccessId`), each a way a
 *   ClientPay account that never had one has been seen to answer: 200 `{"accessId": null}` (`null`, the default:
 *   the documented shape without a value), 200 `{"accessId": ""}` (`empty`) or 401
 *   INVALID_ACCESS_ID. A client then asks /access-id/new.
 * - Credentials that match no account: 401 INVALID_CREDENTIALS. The contract's only documented 401
 *   code is INVALID_ACCESS_ID, so a real account may refuse them with that instead: an account seeded
 *   with `wrongCredentialsCode: "INVALID_ACCESS_ID"` does, for credentials naming its accountKey.
 *   A missing credential field: 400 VALIDATION_ERROR.
 * - /access-id/validate `{"accessId"}` answers `{"valid": false}` for an expired or unknown id.
 *   /access-id/expire `{"accessId"}` expires that (current) id: `{"expired": true}`; an id that is
 *   not current is 401 INVALID_ACCESS_ID, like every call that needs one.
 * - requestIds belong to the account, not to the accessId that asked for them: any /access-id/new
 *   renews the accessId, and a payment whose requestId a worker already keeps must still be
 *   resendable (and replayed) with the renewed one.
 * - Only an executed payment (APPROVED or DECLINED) binds its requestId to its body. An error answer
 *   executed nothing and binds nothing. The body compared is amount, payeeToken, description and
 *   referenceNumber, as sent: not the accessId, which a renewal changes.
 * - A requestId never issued to the account: 400 VALIDATION_ERROR. So is an unknown payeeToken, a
 *   missing field, an amount that is not positive dollars with two decimals, or a body that is not
 *   a JSON object sent as application/json. Field lengths are not documented and not checked.
 * - A payee seeded with a declineReason is DECLINED with it (HTTP 200, nothing moves; the answer
 *   still carries a transactionId, as the contract's response shape has one).
 * - Not POST: 405 METHOD_NOT_ALLOWED; an unknown path: 404 NOT_FOUND. The retry-later answer is
 *   503 SERVICE_UNAVAILABLE with Retry-After.
 * - Requests count against the rate limit of the account their accessId (current or expired) or
 *   accountKey names.
 */

const cents = z.number().int().nonnegative();
const seedSchema = z.object({
  accounts: z
    .array(
      z.object({
        label: z.string().min(1),
        integratorKey: z.string().min(1),
        accountKey: z.string().min(1),
        accountPin: z.string().min(1),
        /** How /access-id/current answers while the account has no accessId. */
        currentWithoutAccessId: z.enum(['null', 'empty', 'INVALID_ACCESS_ID']).default('null'),
        /** The 401 code for credentials that name this account's accountKey but do not match it. */
        wrongCredentialsCode: z.enum(['INVALID_CREDENTIALS', 'INVALID_ACCESS_ID']).default('INVALID_CREDENTIALS'),
        payees: z
          .array(
            z.object({
              payeeToken: z.string().min(1),
              balanceCents: cents,
              /** Every payment to this payee is DECLINED with this reason. */
              declineReason: z.string().min(1).optional(),
            }),
          )
          .refine((payees) => distinct(payees, (p) => p.payeeToken), 'payee tokens must be unique'),
      }),
    )
    .min(1)
    .refine((accounts) => distinct(accounts, (a) => a.accountKey) && distinct(accounts, (a) => a.label), 'account keys and labels must be unique'),
});
type SeedAccount = z.infer<typeof seedSchema>['accounts'][number];
type Payee = SeedAccount['payees'][number];
interface Account extends Omit<SeedAccount, 'payees'> {
  payees: Map<string, Payee>;
  /** The one accessId that works now, if any. */
  accessId: string | undefined;
  /** Every requestId issued to the account → the payment it executed, once one did. */
  requestIds: Map<string, Executed | undefined>;
}
interface Executed {
  /** The payment fields as sent, to tell a repeat from another payment. */
  body: string;
  answer: Answer;
}

// ---- Request bodies ------------------------------------------------------------------------

type Body = Record<string, unknown>;

const given = z.string({ error: 'is required' }).min(1, 'is required');
const credentialFields = z.object({ integratorKey: given, accountKey: given, accountPin: given });
const accessIdField = z.object({ accessId: given });
const paymentFields = z.object({
  amount: given.regex(/^\d+\.\d{2}$/, 'must be dollars with two decimals, e.g. 12.50').transform((dollars, ctx) => {
    const amount = parseDollars(dollars);
    if (amount.ok) return amount.cents;
    ctx.issues.push({ code: 'custom', message: amount.reason, input: dollars });
    return z.NEVER;
  }),
  payeeToken: given,
  description: given,
  referenceNumber: given,
});
const PAYMENT_FIELDS = ['amount', 'payeeToken', 'description', 'referenceNumber'] as const;
// Never offered to fault rules (nor anything else that could end up in a log).
const SECRETS = new Set(['accessId', 'integratorKey', 'accountKey', 'accountPin']);
const PAYMENT_PATH = '/v2/payment';

/** The body as a JSON object, or undefined when it is not one (or not sent as JSON). */
function jsonBody(request: SandboxRequest): Body | undefined {
  if (!request.headers['content-type']?.startsWith('application/json')) return undefined;
  const body = parseJson(request.body);
  return typeof body === 'object' && body !== null && !Array.isArray(body) ? (body as Body) : undefined;
}

// ---- Answers -------------------------------------------------------------------------------

function failure(status: number, code: string, message: string, headers: Record<string, string> = {}): Answer {
  return json(status, { error: { code, message } }, headers);
}

const invalid = (message: string) => failure(400, 'VALIDATION_ERROR', message);

function invalidFields(error: z.ZodError): Answer {
  const { field, message } = firstIssue(error);
  return invalid(`${field} ${message}`);
}

const refusedAccessId = () => failure(401, 'INVALID_ACCESS_ID', 'the accessId is missing, unknown or expired');

const transactionId = (journal: Journal) => `CP${10_000_000 + journal.nextSequence()}`;

export const clientpayProtocol: Protocol = {
  provider: 'clientpay',
  open(seed, journal) {
    const accounts = parseSeed('clientpay', seedSchema, seed).accounts.map(
      (a): Account => ({ ...a, payees: new Map(a.payees.map((p) => [p.payeeToken, { ...p }])), accessId: undefined, requestIds: new Map() }),
    );
    const byAccountKey = new Map(accounts.map((a) => [a.accountKey, a]));
    /** Every accessId ever issued, expired ones too, so their requests still count for their account. */
    const byAccessId = new Map<string, Account>();

    function withCredentials(body: Body, run: (account: Account) => Answer): Answer {
      const parsed = credentialFields.safeParse(body);
      if (!parsed.success) return invalidFields(parsed.error);
      const { integratorKey, accountKey, accountPin } = parsed.data;
      const account = byAccountKey.get(accountKey);
      if (account === undefined || account.integratorKey !== integratorKey || account.accountPin !== accountPin) {
        return failure(401, account?.wrongCredentialsCode ?? 'INVALID_CREDENTIALS', 'integratorKey, accountKey and accountPin do not match a ClientPay account');
      }
      return run(account);
    }

    function currentAccessId(account: Account): Answer {
      if (account.accessId !== undefined) return json(200, { accessId: account.accessId });
      if (account.currentWithoutAccessId === 'INVALID_ACCESS_ID') return failure(401, 'INVALID_ACCESS_ID', 'the account has no accessId');
      return json(200, { accessId: account.currentWithoutAccessId === 'empty' ? '' : null });
    }

    function withAccessId(body: Body, run: (account: Account) => Answer): Answer {
      const parsed = accessIdField.safeParse(body);
      const account = parsed.success ? byAccessId.get(parsed.data.accessId) : undefined;
      return account !== undefined && account.accessId === parsed.data?.accessId ? run(account) : refusedAccessId();
    }

    function issueAccessId(account: Account): Answer {
      const accessId = randomBytes(16).toString('hex');
      account.accessId = accessId;
      byAccessId.set(accessId, account);
      return json(200, { accessId });
    }

    function pay(body: Body, account: Account): Answer {
      const requestId = typeof body.requestId === 'string' ? body.requestId : undefined;
      if (requestId === undefined || !account.requestIds.has(requestId)) return invalid('requestId was not issued to this account by /v2/request-id');
      const sent = JSON.stringify(PAYMENT_FIELDS.map((field) => body[field] ?? null));
      const executed = account.requestIds.get(requestId);
      if (executed !== undefined) {
        return executed.body === sent ? executed.answer : failure(409, 'REQUEST_ID_USED', `requestId ${requestId} was already used with another body`);
      }
      const parsed = paymentFields.safeParse(body);
      if (!parsed.success) return invalidFields(parsed.error);
      const p = parsed.data;
      const payee = account.payees.get(p.payeeToken);
      if (payee === undefined) return invalid(`payeeToken ${p.payeeToken} is not a payee of this account`);
      const answer = payee.declineReason === undefined ? approve(account, payee, requestId, p) : decline(payee.declineReason, p.amount);
      account.requestIds.set(requestId, { body: sent, answer });
      return answer;
    }

    function approve(account: Account, payee: Payee, requestId: string, p: z.output<typeof paymentFields>): Answer {
      payee.balanceCents += p.amount;
      const applied = journal.record({
        id: transactionId(journal),
        kind: 'load',
        account: account.label,
        payee: payee.payeeToken,
        amountCents: p.amount,
        key: requestId,
        description: p.description,
      });
      return json(200, { transactionId: applied.id, status: 'APPROVED', amount: formatDollars(p.amount) });
    }

    function decline(declineReason: string, amountCents: number): Answer {
      return json(200, { transactionId: transactionId(journal), status: 'DECLINED', amount: formatDollars(amountCents), declineReason });
    }

    const endpoints = new Map<string, (body: Body) => Answer>([
      ['/v2/access-id/new', (body) => withCredentials(body, issueAccessId)],
      ['/v2/access-id/current', (body) => withCredentials(body, currentAccessId)],
      [
        '/v2/access-id/validate',
        (body) => {
          const parsed = accessIdField.safeParse(body);
          if (!parsed.success) return invalidFields(parsed.error);
          return json(200, { valid: byAccessId.get(parsed.data.accessId)?.accessId === parsed.data.accessId });
        },
      ],
      [
        '/v2/access-id/expire',
        (body) =>
          withAccessId(body, (account) => {
            account.accessId = undefined;
            return json(200, { expired: true });
          }),
      ],
      [
        '/v2/request-id',
        (body) =>
          withAccessId(body, (account) => {
            const requestId = randomUUID();
            account.requestIds.set(requestId, undefined);
            return json(200, { requestId });
          }),
      ],
      [PAYMENT_PATH, (body) => withAccessId(body, (account) => pay(body, account))],
    ]);

    /** The account a request names, by accessId (even an expired one) or accountKey, whether or not it authenticates. */
    function namedAccount(body: Body | undefined): Account | undefined {
      if (typeof body?.accessId === 'string') return byAccessId.get(body.accessId);
      return typeof body?.accountKey === 'string' ? byAccountKey.get(body.accountKey) : undefined;
    }

    return {
      route(request) {
        if (request.method !== 'POST') return failure(405, 'METHOD_NOT_ALLOWED', 'ClientPay accepts POST only', { allow: 'POST' });
        const endpoint = endpoints.get(request.path);
        if (!endpoint) return failure(404, 'NOT_FOUND', `no such resource: ${request.path}`);
        const body = jsonBody(request);
        const fields = Object.entries(body ?? {}).filter((entry): entry is [string, string] => typeof entry[1] === 'string' && !SECRETS.has(entry[0]));
        return {
          account: namedAccount(body)?.label,
          fields: Object.fromEntries(fields),
          payment: request.path === PAYMENT_PATH,
          handle: () => (body === undefined ? invalid('the body must be a JSON object sent as application/json') : endpoint(body)),
          retryLater: (seconds) => failure(503, 'SERVICE_UNAVAILABLE', 'ClientPay is temporarily unavailable; nothing was applied', { 'retry-after': String(seconds) }),
          answerCode: (code) => failure(400, code, `error ${code} (a sandbox fault)`),
        };
      },
      state: () => ({
        accounts: accounts.map((a) => ({ label: a.label, payees: [...a.payees.values()].map((p) => ({ ...p })) })),
      }),
      issuedSecrets: () => [...byAccessId.keys()],
    };
  },
};
