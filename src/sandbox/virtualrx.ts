import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { parseCents } from '../money.js';
import { type Answer, distinct, firstIssue, json, methodNotAllowed, notFound, parseJson, parseSeed, type Protocol } from './core.js';

/**
 * VirtualRx as its API documentation and docs/providers.md ("VirtualRx") describe it:
 * POST /jsonapi.php with a Bearer token and a `{ServiceName, data}` JSON envelope, always answered
 * HTTP 200 with ResponseDetails.StatusCode. Not idempotent: every accepted Payment pays, repeats
 * included.
 *
 * Where the document leaves the choice to us:
 * - 70022 unknown CustId, a customer whose card is not issued, or a ProgramId that is not the
 *   customer's program (the card was not issued in that program).
 * - 70025 suspended customer (Payment and VoidPayment).
 * - 70061 the amount is above the program's per-load maximum (maxLoadCents);
 *   70062 the balance after the load would be above the program's maximum balance (maxBalanceCents);
 *   70063 the customer's loads today (UTC day) plus this one are above the daily limit
 *   (dailyLoadCents). Checked in that order. A VoidPayment does not give daily allowance back.
 * - VoidPayment reverses an earlier Payment with the same CustId, ProgramId, Amount,
 *   ClaimReferenceNumber and ClientGroupID. 70038 when no such Payment is left to void;
 *   40001 when there is one but the available balance (balance minus active holds) is below it.
 * - 90001 "InvalidRequest" (a code the table does not use) for a body that is not JSON, an
 *   unknown ServiceName, a missing required field or an Amount that is not a string of whole
 *   cents above zero; StatusDescription names the field.
 * - A missing or unknown bearer token: HTTP 401 with the usual envelope, StatusCode "401",
 *   StatusName "Unauthorized".
 * - ServiceId is the transaction id of an applied Payment or VoidPayment; SessionId equals it, as
 *   in the document's example.
 */

const cents = z.number().int().nonnegative();
const seedSchema = z
  .object({
    tokens: z
      .array(z.object({ label: z.string().min(1), token: z.string().min(1) }))
      .min(1)
      .refine((tokens) => distinct(tokens, (t) => t.token) && distinct(tokens, (t) => t.label), 'tokens and labels must be unique'),
    programs: z
      .array(z.object({ ProgramId: z.string().min(1), maxLoadCents: cents, maxBalanceCents: cents, dailyLoadCents: cents }))
      .refine((programs) => distinct(programs, (p) => p.ProgramId), 'program ids must be unique'),
    customers: z
      .array(
        z.object({
          CustId: z.string().min(1),
          ProgramId: z.string().min(1),
          status: z.enum(['active', 'suspended', 'not_issued']),
          balanceCents: cents,
          /** Authorised but unsettled spending: reported as active_holds, not available to a void. */
          holdsCents: cents.default(0),
        }),
      )
      .refine((customers) => distinct(customers, (c) => c.CustId), 'customer ids must be unique'),
  })
  .refine((seed) => seed.customers.every((c) => seed.programs.some((p) => p.ProgramId === c.ProgramId)), {
    error: 'every customer must be in a seeded program',
    path: ['customers'],
  });
type Seed = z.infer<typeof seedSchema>;
type Program = Seed['programs'][number];
type Customer = Seed['customers'][number] & {
  program: Program;
  loadedToday: { day: string; cents: number };
};

const required = z.string({ error: 'is required' }).min(1, 'is required');
const requestSchema = z.object({
  ServiceName: z.enum(['Payment', 'VoidPayment'], { error: 'must be Payment or VoidPayment' }),
  data: z.object(
    {
      CustId: required,
      ProgramId: required,
      Amount: z.string({ error: 'must be a string of whole cents, e.g. "1250"' }).transform((value, ctx) => {
        const amount = parseCents(value);
        if (amount.ok) return amount.cents;
        ctx.issues.push({ code: 'custom', message: amount.reason, input: value });
        return z.NEVER;
      }),
      ReasonDescription: z.string().optional(),
      ClaimReferenceNumber: required,
      ClientGroupID: required,
    },
    { error: 'is required' },
  ),
});
type Data = z.infer<typeof requestSchema>['data'];

// Only what fault rules match on: the service and the data fields, whatever their validity.
const outline = z.object({ ServiceName: z.string().optional(), data: z.record(z.string(), z.unknown()).optional() });

interface Status {
  code: string;
  name: string;
  description: string;
}
const DECLINED = 'VRX Reload - DECLINED';
const UNLOAD_DECLINED = 'VRX Unload - DECLINED';
const LIMITS = { name: 'LimitsViolation', description: 'Incorrect limits for the program hierarchy' };
const STATUS = {
  ok: { code: '0', name: 'StatusOK', description: 'NA' },
  notIssued: { code: '70022', name: DECLINED, description: "The card being funded hasn't been issued yet" },
  suspended: { code: '70025', name: DECLINED, description: 'The card being funded is not in activate status or is suspended.' },
  perLoad: { code: '70061', ...LIMITS },
  maxBalance: { code: '70062', ...LIMITS },
  daily: { code: '70063', ...LIMITS },
  noFundsToVoid: { code: '70038', name: UNLOAD_DECLINED, description: 'The VoidPayment Failed as funds are not available on the card.' },
  insufficientAvailable: { code: '40001', name: UNLOAD_DECLINED, description: '40001 (Insufficient Available balance)' },
  upstream: { code: '80000', name: 'Unknown Error', description: 'Connection issues with Upstream provider' },
  invalid: { code: '90001', name: 'InvalidRequest', description: 'The request is malformed' },
  unauthorized: { code: '401', name: 'Unauthorized', description: 'Missing or unknown bearer token' },
} satisfies Record<string, Status>;

interface Balances {
  before: number;
  after: number;
  holds: number;
}

function respond(serviceName: string, sessionId: string, status: Status, detail?: string, balances?: Balances, httpStatus = 200): Answer {
  return json(httpStatus, {
    ResponseDetails: {
      ServiceName: serviceName,
      SessionId: sessionId,
      StatusCode: status.code,
      StatusName: status.name,
      StatusDescription: detail === undefined ? status.description : `${status.description}: ${detail}`,
      ServiceDate: new Date().toISOString().slice(0, 19).replace('T', ' '),
      ServiceId: sessionId,
    },
    ...(balances && {
      ResponseParams: {
        balance_before_transaction: String(balances.before),
        balance_after_transaction: String(balances.after),
        active_holds: String(balances.holds),
      },
    }),
  });
}

const newSessionId = () => randomUUID().toUpperCase();
const utcDay = () => new Date().toISOString().slice(0, 10);
/** The fields that identify the Payment a VoidPayment reverses. */
const paymentKey = (d: Data) => JSON.stringify([d.CustId, d.ProgramId, d.Amount, d.ClaimReferenceNumber, d.ClientGroupID]);

export const virtualrxProtocol: Protocol = {
  provider: 'virtualrx',
  open(rawSeed, journal) {
    const seed = parseSeed('virtualrx', seedSchema, rawSeed);
    const labels = new Map(seed.tokens.map((t) => [t.token, t.label]));
    const programs = new Map(seed.programs.map((p) => [p.ProgramId, p]));
    const customers = new Map<string, Customer>(
      // The seed schema guarantees every customer's program exists.
      seed.customers.map((c) => [c.CustId, { ...c, program: programs.get(c.ProgramId)!, loadedToday: { day: '', cents: 0 } }]),
    );
    /** paymentKey → ids of the Payments with those fields not voided yet. */
    const voidable = new Map<string, string[]>();

    function pay(d: Data, account: string, session: string): Answer {
      const answer = (status: Status, detail?: string, balances?: Balances) => respond('Payment', session, status, detail, balances);
      const customer = customers.get(d.CustId);
      if (customer === undefined || customer.status === 'not_issued') return answer(STATUS.notIssued, `customer ${d.CustId}`);
      if (customer.ProgramId !== d.ProgramId) return answer(STATUS.notIssued, `customer ${d.CustId} has no card in program ${d.ProgramId}`);
      if (customer.status === 'suspended') return answer(STATUS.suspended, `customer ${d.CustId}`);
      const { maxLoadCents, maxBalanceCents, dailyLoadCents } = customer.program;
      if (d.Amount > maxLoadCents) return answer(STATUS.perLoad, `${d.Amount} is above the per-load maximum ${maxLoadCents}`);
      const after = customer.balanceCents + d.Amount;
      if (after > maxBalanceCents) return answer(STATUS.maxBalance, `the balance would be ${after}, above the maximum ${maxBalanceCents}`);
      const today = utcDay();
      const loaded = customer.loadedToday.day === today ? customer.loadedToday.cents : 0;
      if (loaded + d.Amount > dailyLoadCents) return answer(STATUS.daily, `${loaded} loaded today; ${d.Amount} more is above the daily limit ${dailyLoadCents}`);

      const before = customer.balanceCents;
      customer.balanceCents = after;
      customer.loadedToday = { day: today, cents: loaded + d.Amount };
      record('load', d, account, session);
      voidable.set(paymentKey(d), [...(voidable.get(paymentKey(d)) ?? []), session]);
      return answer(STATUS.ok, undefined, { before, after, holds: customer.holdsCents });
    }

    function voidPayment(d: Data, account: string, session: string): Answer {
      const answer = (status: Status, detail?: string, balances?: Balances) => respond('VoidPayment', session, status, detail, balances);
      const customer = customers.get(d.CustId);
      if (customer?.status === 'suspended') return answer(STATUS.suspended, `customer ${d.CustId}`);
      const payments = voidable.get(paymentKey(d)) ?? [];
      if (customer === undefined || payments.length === 0) return answer(STATUS.noFundsToVoid, 'no Payment with these fields is left to void');
      const available = customer.balanceCents - customer.holdsCents;
      if (available < d.Amount) return answer(STATUS.insufficientAvailable, `${available} available, ${d.Amount} to void`);

      const before = customer.balanceCents;
      customer.balanceCents -= d.Amount;
      payments.pop();
      record('unload', d, account, session);
      return answer(STATUS.ok, undefined, { before, after: customer.balanceCents, holds: customer.holdsCents });
    }

    function record(kind: 'load' | 'unload', d: Data, account: string, id: string): void {
      journal.record({
        id,
        kind,
        account,
        payee: d.CustId,
        amountCents: d.Amount,
        key: d.ClaimReferenceNumber,
        ...(d.ReasonDescription === undefined ? {} : { description: d.ReasonDescription }),
      });
    }

    return {
      route(request) {
        if (request.path !== '/jsonapi.php') return notFound(request.path);
        if (request.method !== 'POST') return methodNotAllowed('POST');
        const token = /^Bearer (.+)$/.exec(request.headers.authorization ?? '')?.[1];
        const account = token === undefined ? undefined : labels.get(token);
        const body = parseJson(request.body);
        const shape = outline.safeParse(body);
        const serviceName = (shape.success && shape.data.ServiceName) || '';
        const data = Object.entries((shape.success && shape.data.data) || {}).filter((entry): entry is [string, string] => typeof entry[1] === 'string');
        return {
          account,
          fields: { ...Object.fromEntries(data), ServiceName: serviceName },
          payment: serviceName === 'Payment',
          handle() {
            const session = newSessionId();
            if (account === undefined) return respond(serviceName, session, STATUS.unauthorized, undefined, undefined, 401);
            const parsed = requestSchema.safeParse(body);
            if (!parsed.success) {
              const { field, message } = firstIssue(parsed.error);
              return respond(serviceName, session, STATUS.invalid, body === undefined ? 'the body is not JSON' : `${field || 'body'} ${message}`);
            }
            const { ServiceName, data: fields } = parsed.data;
            return ServiceName === 'Payment' ? pay(fields, account, session) : voidPayment(fields, account, session);
          },
          retryLater: () => respond(serviceName, newSessionId(), STATUS.upstream),
          answerCode: (code) => respond(serviceName, newSessionId(), { code, name: 'SandboxFault', description: `status ${code} (a sandbox fault)` }),
        };
      },
      state: () => ({
        programs: [...programs.values()].map((p) => ({ ...p })),
        customers: [...customers.values()].map(({ CustId, ProgramId, status, balanceCents, holdsCents }) => ({ CustId, ProgramId, status, balanceCents, holdsCents })),
      }),
    };
  },
};
