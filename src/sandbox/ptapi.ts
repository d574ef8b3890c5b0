import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { type Answer, distinct, firstIssue, json, methodNotAllowed, parseJson, parseSeed, type Protocol, refusal } from './core.js';

/**
 * PT API as its API documentation and docs/providers.md ("PT API") describe it: JSON REST,
 * a bearer token from POST /users/login that stops working after expiresIn seconds (the seed's
 * tokenTtlSeconds) or at POST /users/logout, amounts in integer cents, errors as
 * `{"error":{"code","message"}}` with the documented HTTP status. Not idempotent: every accepted
 * load applies, repeats included; externalId is stored and listed, never enforced unique.
 *
 * Where the documents leave the choice to us:
 * - A load is checked in this order, the first failure answering:
 *   401 UNAUTHORIZED   no token, an unknown, expired or logged-out one;
 *   400 VALIDATION_ERROR the body (not JSON; amount not whole cents above 0; customerId or
 *                      programId not a non-empty string; description or externalId not a string);
 *   404 NOT_FOUND      no such cardholder;
 *   403 FORBIDDEN      the cardholder, the customerId or the programId is not under the user's
 *                      parent (an unknown customerId or programId too: the user sees no further);
 *   400 VALIDATION_ERROR customerId or programId is in the hierarchy but not the cardholder's own;
 *   400 CARDHOLDER_INACTIVE the cardholder is SUSPENDED or CLOSED;
 *   400 INSUFFICIENT_FUNDS the parent's master funds hold less than the amount.
 *   VALIDATION_ERROR messages start with the field they concern.
 * - GET /cardholders/{id}: 404 unknown, 403 outside the hierarchy. GET /master-funds: the user's parent's.
 * - Login: 400 VALIDATION_ERROR for a body without string username and password, 401 UNAUTHORIZED
 *   when they match no user. Logout answers 204 with no body.
 * - GET /loads answers the loads under the user's parent, oldest first, that match `q`: terms
 *   `field:value` (exact, on the load's own fields) joined by ` AND `, as in the document's
 *   `q=firstName:joe AND …` example; ranges are not simulated. An unknown field is a 400.
 * - An unknown path answers 404 NOT_FOUND in the error body; a known path with the wrong method 405.
 * - The retryable fault is HTTP 503 with Retry-After: PT API documents no "retry later" error.
 */

const cents = z.number().int().nonnegative();
const name = z.string().min(1);

const seedSchema = z
  .object({
    /** expiresIn of every token; 0 makes each token expired as soon as it is issued. */
    tokenTtlSeconds: z.number().int().nonnegative().default(3600),
    users: z
      .array(z.object({ label: name, username: name, password: name, parentId: name }))
      .min(1)
      .refine((users) => distinct(users, (u) => u.username) && distinct(users, (u) => u.label), 'usernames and labels must be unique'),
    parents: z
      .array(z.object({ parentId: name, masterFundsCents: cents }))
      .refine((parents) => distinct(parents, (p) => p.parentId), 'parent ids must be unique'),
    customers: z
      .array(z.object({ customerId: name, parentId: name }))
      .refine((customers) => distinct(customers, (c) => c.customerId), 'customer ids must be unique'),
    programs: z
      .array(z.object({ programId: name, customerId: name }))
      .refine((programs) => distinct(programs, (p) => p.programId), 'program ids must be unique'),
    cardholders: z
      .array(z.object({ cardholderId: name, customerId: name, programId: name, status: z.enum(['ACTIVE', 'SUSPENDED', 'CLOSED']), balanceCents: cents }))
      .refine((cardholders) => distinct(cardholders, (c) => c.cardholderId), 'cardholder ids must be unique'),
  })
  .superRefine((seed, ctx) => {
    const parents = new Set(seed.parents.map((p) => p.parentId));
    const customers = new Set(seed.customers.map((c) => c.customerId));
    const customerOfProgram = new Map(seed.programs.map((p) => [p.programId, p.customerId]));
    const broken = [
      ...seed.users.filter((u) => !parents.has(u.parentId)).map((u) => `user ${u.label}: no parent ${u.parentId}`),
      ...seed.customers.filter((c) => !parents.has(c.parentId)).map((c) => `customer ${c.customerId}: no parent ${c.parentId}`),
      ...seed.programs.filter((p) => !customers.has(p.customerId)).map((p) => `program ${p.programId}: no customer ${p.customerId}`),
      ...seed.cardholders
        .filter((c) => customerOfProgram.get(c.programId) !== c.customerId)
        .map((c) => `cardholder ${c.cardholderId}: ${c.programId} is not a program of customer ${c.customerId}`),
    ];
    for (const message of broken) ctx.addIssue({ code: 'custom', message });
  });
type Seed = z.infer<typeof seedSchema>;
type User = Seed['users'][number];
type Parent = Seed['parents'][number];
type Cardholder = Seed['cardholders'][number];

const given = z.string({ error: 'is required' }).min(1, 'is required');
const loadRequest = z.object(
  {
    amount: z.number({ error: 'must be a number of cents, e.g. 1250' }).int('must be a whole number of cents').positive('must be more than 0'),
    customerId: given,
    programId: given,
    description: z.string({ error: 'must be a string' }).optional(),
    externalId: z.string({ error: 'must be a string' }).optional(),
  },
  { error: 'must be a JSON object' },
);
const loginRequest = z.object({ username: given, password: given }, { error: 'must be a JSON object' });

/** A load as the API shows it (the 201 answer, a GET /loads item). */
interface Load {
  loadId: string;
  cardholderId: string;
  amount: number;
  balance: number;
  externalId?: string;
  createdAt: string;
}

interface Session {
  token: string;
  user: User;
  expiresAt: number;
}

/** A request as a route sees it: bearer token, JSON body, the cardholder id in the path, the query. */
interface Parsed {
  token: string | undefined;
  body: unknown;
  cardholderId: string | undefined;
  query: URLSearchParams;
}

type Route = {
  path: RegExp;
  method: 'GET' | 'POST';
  /** Moves money: the default target of fault rules. */
  payment?: true;
  /** What fault rules may match on (never a password or token). */
  fields?: (request: Parsed) => Record<string, string>;
  // `open` answers without a token (the login); `run` answers only for a live token's session.
} & ({ open: (request: Parsed) => Answer } | { run: (session: Session, request: Parsed) => Answer });

const LOAD_FIELDS = new Set(['loadId', 'cardholderId', 'amount', 'balance', 'externalId', 'createdAt']);

/** `q=externalId:pay-1 AND cardholderId:CH0001` as a predicate on a load, or what is wrong with it. */
function searchFilter(q: string | null): ((load: Load) => boolean) | string {
  if (q === null || q.trim() === '') return () => true;
  const terms: [string, string][] = [];
  for (const term of q.split(' AND ')) {
    const match = /^(\w+):(.+)$/.exec(term.trim());
    if (!match || !LOAD_FIELDS.has(match[1]!)) return `q: cannot search on ${JSON.stringify(term.trim())}; fields: ${[...LOAD_FIELDS].join(', ')}`;
    terms.push([match[1]!, match[2]!]);
  }
  return (load) => terms.every(([field, value]) => String(load[field as keyof Load]) === value);
}

function failure(status: number, code: string, message: string): Answer {
  return json(status, { error: { code, message } });
}

function invalid(error: z.ZodError): Answer {
  const { field, message } = firstIssue(error);
  return failure(400, 'VALIDATION_ERROR', `${field || 'body'} ${message}`);
}

const UNAUTHORIZED = failure(401, 'UNAUTHORIZED', 'log in first: the token is missing, unknown, expired or logged out');
const NO_CONTENT: Answer = { status: 204, headers: {}, body: '' };

/** The string and number members of a JSON object, as text. */
function scalars(body: unknown): Record<string, string> {
  if (typeof body !== 'object' || body === null) return {};
  return Object.fromEntries(Object.entries(body).flatMap(([key, value]) => (typeof value === 'string' || typeof value === 'number' ? [[key, String(value)]] : [])));
}

/** A path segment decoded, or undefined when it is not valid percent-encoding. */
function decoded(segment: string | undefined): string | undefined {
  try {
    return segment === undefined ? undefined : decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

export const ptapiProtocol: Protocol = {
  provider: 'ptapi',
  open(rawSeed, journal) {
    const seed = parseSeed('ptapi', seedSchema, rawSeed);
    const users = new Map(seed.users.map((u) => [u.username, u]));
    const parents = new Map(seed.parents.map((p) => [p.parentId, { ...p }]));
    const parentOfCustomer = new Map(seed.customers.map((c) => [c.customerId, c.parentId]));
    const customerOfProgram = new Map(seed.programs.map((p) => [p.programId, p.customerId]));
    const cardholders = new Map(seed.cardholders.map((c) => [c.cardholderId, { ...c }]));
    const sessions = new Map<string, Session>();
    /** Every token issued, logged out ones too (issuedSecrets). */
    const issued: string[] = [];
    /** Every applied load, with the parent whose master funds paid it. */
    const loads: { load: Load; parentId: string }[] = [];

    // The seed schema guarantees every user's parent exists.
    const fundsOf = (user: User): Parent => parents.get(user.parentId)!;
    const inHierarchy = (user: User, customerId: string | undefined) => customerId !== undefined && parentOfCustomer.get(customerId) === user.parentId;
    const live = (session: Session) => Date.now() < session.expiresAt;

    function logIn({ body }: Parsed): Answer {
      const parsed = loginRequest.safeParse(body);
      if (!parsed.success) return invalid(parsed.error);
      const user = users.get(parsed.data.username);
      if (user === undefined || user.password !== parsed.data.password) return failure(401, 'UNAUTHORIZED', 'the username and password do not match a user');
      const token = randomBytes(24).toString('hex');
      sessions.set(token, { token, user, expiresAt: Date.now() + seed.tokenTtlSeconds * 1000 });
      issued.push(token);
      return json(200, { token, expiresIn: seed.tokenTtlSeconds });
    }

    function withCardholder(user: User, cardholderId: string | undefined, run: (cardholder: Cardholder) => Answer): Answer {
      const cardholder = cardholderId === undefined ? undefined : cardholders.get(cardholderId);
      if (cardholder === undefined) return failure(404, 'NOT_FOUND', `no cardholder ${cardholderId ?? ''}`.trim());
      if (!inHierarchy(user, cardholder.customerId)) return failure(403, 'FORBIDDEN', `cardholder ${cardholder.cardholderId} is outside your parent/client hierarchy`);
      return run(cardholder);
    }

    function fund({ user }: Session, { body, cardholderId }: Parsed): Answer {
      const parsed = loadRequest.safeParse(body);
      if (!parsed.success) return invalid(parsed.error);
      const request = parsed.data;
      return withCardholder(user, cardholderId, (cardholder) => {
        if (!inHierarchy(user, request.customerId)) return failure(403, 'FORBIDDEN', `customer ${request.customerId} is outside your parent/client hierarchy`);
        if (!inHierarchy(user, customerOfProgram.get(request.programId))) return failure(403, 'FORBIDDEN', `program ${request.programId} is outside your parent/client hierarchy`);
        if (request.customerId !== cardholder.customerId) return failure(400, 'VALIDATION_ERROR', `customerId ${request.customerId} is not the customer of cardholder ${cardholder.cardholderId}`);
        if (request.programId !== cardholder.programId) return failure(400, 'VALIDATION_ERROR', `programId ${request.programId} is not the program of cardholder ${cardholder.cardholderId}`);
        if (cardholder.status !== 'ACTIVE') return failure(400, 'CARDHOLDER_INACTIVE', `cardholder ${cardholder.cardholderId} is ${cardholder.status}`);
        const funds = fundsOf(user);
        if (funds.masterFundsCents < request.amount) {
          return failure(400, 'INSUFFICIENT_FUNDS', `the master funds account holds ${funds.masterFundsCents} cents, less than ${request.amount}`);
        }
        funds.masterFundsCents -= request.amount;
        cardholder.balanceCents += request.amount;
        const applied = journal.record({
          id: `LD${String(journal.nextSequence()).padStart(8, '0')}`,
          kind: 'load',
          account: user.label,
          payee: cardholder.cardholderId,
          amountCents: request.amount,
          ...(request.externalId === undefined ? {} : { key: request.externalId }),
          ...(request.description === undefined ? {} : { description: request.description }),
        });
        const load: Load = {
          loadId: applied.id,
          cardholderId: cardholder.cardholderId,
          amount: request.amount,
          balance: cardholder.balanceCents,
          ...(request.externalId === undefined ? {} : { externalId: request.externalId }),
          createdAt: applied.at,
        };
        loads.push({ load, parentId: user.parentId });
        return json(201, load);
      });
    }

    const routes: Route[] = [
      { path: /^\/users\/login$/, method: 'POST', fields: ({ body }) => ({ username: scalars(body).username ?? '' }), open: logIn },
      {
        path: /^\/users\/logout$/,
        method: 'POST',
        run: ({ token }) => {
          sessions.delete(token);
          return NO_CONTENT;
        },
      },
      { path: /^\/master-funds$/, method: 'GET', run: ({ user }) => json(200, { balance: fundsOf(user).masterFundsCents }) },
      {
        path: /^\/loads$/,
        method: 'GET',
        run: ({ user }, { query }) => {
          const matches = searchFilter(query.get('q'));
          if (typeof matches === 'string') return failure(400, 'VALIDATION_ERROR', matches);
          return json(200, { items: loads.filter((l) => l.parentId === user.parentId && matches(l.load)).map((l) => l.load) });
        },
      },
      {
        path: /^\/cardholders\/([^/]+)$/,
        method: 'GET',
        fields: ({ cardholderId }) => ({ cardholderId: cardholderId ?? '' }),
        run: ({ user }, { cardholderId }) =>
          withCardholder(user, cardholderId, (c) => json(200, { cardholderId: c.cardholderId, customerId: c.customerId, status: c.status, balance: c.balanceCents })),
      },
      {
        path: /^\/cardholders\/([^/]+)\/loads$/,
        method: 'POST',
        payment: true,
        fields: ({ body, cardholderId }) => ({ ...scalars(body), cardholderId: cardholderId ?? '' }),
        run: fund,
      },
    ];

    return {
      route(request) {
        const route = routes.find((r) => r.path.test(request.path));
        if (route === undefined) return failure(404, 'NOT_FOUND', `no resource at ${request.path}`);
        if (request.method !== route.method) return methodNotAllowed(route.method);
        const parsed: Parsed = {
          token: /^Bearer (.+)$/.exec(request.headers.authorization ?? '')?.[1],
          body: request.method === 'POST' ? parseJson(request.body) : undefined,
          cardholderId: decoded(route.path.exec(request.path)?.[1]),
          query: request.query,
        };
        const named = 'open' in route ? users.get(scalars(parsed.body).username ?? '') : sessions.get(parsed.token ?? '')?.user;
        return {
          account: named?.label,
          fields: route.fields?.(parsed) ?? {},
          payment: route.payment ?? false,
          handle() {
            if ('open' in route) return route.open(parsed);
            // Checked when handled, not when the request arrived: a token can lapse in between.
            const session = sessions.get(parsed.token ?? '');
            return session !== undefined && live(session) ? route.run(session, parsed) : UNAUTHORIZED;
          },
          retryLater: (seconds) => refusal(503, 'PT API is temporarily unavailable; nothing was applied', seconds),
          answerCode: (code) => failure(400, code, `error ${code} (a sandbox fault)`),
        };
      },
      state: () => ({
        users: seed.users.map((u) => ({ label: u.label, parentId: u.parentId, liveTokens: [...sessions.values()].filter((s) => s.user === u && live(s)).length })),
        parents: [...parents.values()].map((p) => ({ ...p })),
        cardholders: [...cardholders.values()].map((c) => ({ ...c })),
      }),
      issuedSecrets: () => [...issued],
    };
  },
};
