import { z } from 'zod';
import { parseBalanceDollars } from '../money.js';
import {
  formParams,
  type Answer,
  distinct,
  firstIssue,
  type Journal,
  json,
  methodNotAllowed,
  notFound,
  parseJson,
  parseSeed,
  type Protocol,
} from './core.js';

/**
 * The ONTRAPORT Payments API as its documentation and docs/providers.md ("ONTRAPORT")
 * describe it: form-encoded POSTs to /payments.php with appid, key, reqType and (for a sale) a JSON
 * `data` field; a sale answers HTTP 200 `{result_code, transaction_id, external_txn, message,
 * contact_id}`; list_gateways and list_invoices answer `[{id, name}, …]`. Not idempotent: every
 * accepted sale charges.
 *
 * Where the document leaves the choice to us:
 * - A wrong key, an unknown appid or none: HTTP 401 `{"error": "…"}` (no result_code: the request
 *   was not read). A reqType other than the three: HTTP 400 `{"error": "…"}`.
 * - result_code 2 "Bad data" for: `data` missing or not JSON; an id that is not a positive whole
 *   number (number or digit string); an invoice template, product or gateway the account does not
 *   have; an unknown contact or one without a card on file; no products, a product that is not
 *   `type: "single"` (subscriptions and payment plans are not simulated), a quantity that is not a
 *   whole number from 1 to 9999, a price that is not dollars with two decimals above 0.00; and
 *   card_details (this sandbox takes no card data: it only charges cards on file) or neither
 *   card_details nor use_card_on_file "yes". The message names the field.
 * - Gateways carry a seeded behaviour: 3 misconfigured and 6 bad gateway credentials (nothing
 *   applied), 5 remote gateway api problem (nothing applied), and 7 connection lost AFTER the
 *   gateway charged: the charge IS applied and journaled, but the answer has no transaction_id or
 *   external_txn, because ONTRAPORT never heard back. That is why 7 is an unknown outcome.
 * - The amount is the sum of price × quantity over the products. Each applied sale is journaled as
 *   a 'load' to payee contact_id with the transaction_id as its id and the invoice template's name
 *   as its description, and no key: a sale carries no client reference to key it by.
 * - The `retryable` fault is the documented result_code 4 "problem with our api", HTTP 200.
 */

const positiveId = z.number().int().positive();
const named = z.object({ id: positiveId, name: z.string().min(1) });
const uniqueIds = <T extends { id: number }>(items: T[]) => distinct(items, (i) => String(i.id));
const behaviour = z.enum(['works', 'misconfigured', 'remote-api-error', 'bad-credentials', 'connection-lost-after-charge']);

const seedSchema = z.object({
  accounts: z
    .array(
      z.object({
        label: z.string().min(1),
        appid: z.string().min(1),
        key: z.string().min(1),
        gateways: z.array(named.extend({ behaviour })).refine(uniqueIds, 'gateway ids must be unique'),
        invoices: z.array(named).refine(uniqueIds, 'invoice ids must be unique'),
        products: z.array(named).refine(uniqueIds, 'product ids must be unique'),
        contacts: z.array(z.object({ id: positiveId, cardOnFile: z.boolean() })).refine(uniqueIds, 'contact ids must be unique'),
      }),
    )
    .min(1)
    .refine((accounts) => distinct(accounts, (a) => a.appid) && distinct(accounts, (a) => a.label), 'appids and labels must be unique'),
});
type SeedAccount = z.infer<typeof seedSchema>['accounts'][number];
type Named = z.infer<typeof named>;
type Gateway = SeedAccount['gateways'][number];
interface Contact {
  id: number;
  cardOnFile: boolean;
  /** Everything charged to the contact through this sandbox. */
  chargedCents: number;
}
interface Account {
  label: string;
  key: string;
  gateways: Map<number, Gateway>;
  invoices: Map<number, Named>;
  products: Map<number, Named>;
  contacts: Map<number, Contact>;
}

// ---- The sale's data, with the rules above -----------------------------------------------------

/** A custom zod issue: the value is refused with this message. */
function refuse(ctx: z.RefinementCtx, input: unknown, message: string): never {
  ctx.addIssue({ code: 'custom', message, input });
  return z.NEVER;
}

// The document's example mixes numbers (contact_id 129278) and strings (product "id": "1").
const wireId = z.unknown().transform((value, ctx) => {
  const id = typeof value === 'string' && /^\d{1,10}$/.test(value) ? Number(value) : value;
  const parsed = positiveId.safeParse(id);
  return parsed.success ? parsed.data : refuse(ctx, value, 'must be a positive whole number');
});
const quantity = z.unknown().transform((value, ctx) => {
  const n = typeof value === 'string' && /^\d{1,4}$/.test(value) ? Number(value) : value;
  return typeof n === 'number' && Number.isInteger(n) && n >= 1 && n <= 9999 ? n : refuse(ctx, value, 'must be a whole number from 1 to 9999');
});
const price = z.unknown().transform((value, ctx) => {
  // Two decimals exactly, as in the document's examples; read as text, never as a float.
  const cents = typeof value === 'string' && /^\d{1,9}\.\d{2}$/.test(value) ? parseBalanceDollars(value) : undefined;
  return cents !== undefined && cents > 0 ? cents : refuse(ctx, value, 'must be a string of dollars with two decimals above 0.00, e.g. "12.50"');
});
const saleData = z
  .object(
    {
      contact_id: wireId,
      invoice_id: wireId,
      gateway_id: wireId,
      use_card_on_file: z.literal('yes', { error: 'must be "yes" when sent' }).optional(),
      card_details: z.unknown().optional(),
      products: z
        .array(
          z.object({
            id: wireId,
            quantity,
            price,
            type: z.literal('single', { error: 'must be "single" (subscriptions and payment plans are not simulated)' }),
          }),
          { error: 'must be an array of products' },
        )
        .min(1, 'must hold at least one product'),
    },
    { error: 'must be a JSON object' },
  )
  .superRefine((data, ctx) => {
    if (data.card_details !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['card_details'], message: 'is not accepted: this sandbox only charges cards on file (use_card_on_file "yes")' });
    } else if (data.use_card_on_file === undefined) {
      ctx.addIssue({ code: 'custom', path: ['use_card_on_file'], message: 'or card_details is required' });
    }
  });
type SaleData = z.infer<typeof saleData>;

// ---- Answers -----------------------------------------------------------------------------------

/** A sale answer without ids: nothing was charged, or (7) ONTRAPORT never heard back whether it was. */
function withoutIds(resultCode: number | string, message: string, contactId: number | null): Answer {
  return json(200, { result_code: resultCode, transaction_id: null, external_txn: null, message, contact_id: contactId });
}

function sale(data: string | undefined, account: Account, journal: Journal): Answer {
  if (data === undefined) return withoutIds(2, 'data is required', null);
  const value = parseJson(data);
  if (value === undefined) return withoutIds(2, 'data is not JSON', null);
  const parsed = saleData.safeParse(value);
  if (!parsed.success) {
    const { field, message } = firstIssue(parsed.error);
    return withoutIds(2, `data${field ? `.${field}` : ''} ${message}`, null);
  }
  const d = parsed.data;
  const invoice = account.invoices.get(d.invoice_id);
  if (invoice === undefined) return withoutIds(2, `no invoice template ${d.invoice_id}`, d.contact_id);
  const unknownProduct = d.products.find((p) => !account.products.has(p.id));
  if (unknownProduct !== undefined) return withoutIds(2, `no product ${unknownProduct.id}`, d.contact_id);
  const gateway = account.gateways.get(d.gateway_id);
  if (gateway === undefined) return withoutIds(2, `no gateway ${d.gateway_id}`, d.contact_id);
  const contact = account.contacts.get(d.contact_id);
  if (contact === undefined) return withoutIds(2, `no contact ${d.contact_id}`, d.contact_id);
  if (!contact.cardOnFile) return withoutIds(2, `contact ${d.contact_id} has no credit card on file`, d.contact_id);

  const through = `gateway ${gateway.id} (${gateway.name})`;
  switch (gateway.behaviour) {
    case 'misconfigured':
      return withoutIds(3, `${through} is not set up to take charges`, d.contact_id);
    case 'remote-api-error':
      return withoutIds(5, `${through} answered with an error`, d.contact_id);
    case 'bad-credentials':
      return withoutIds(6, `${through} refused ONTRAPORT's gateway credentials`, d.contact_id);
    case 'connection-lost-after-charge':
      // The gateway charged, but its answer never reached ONTRAPORT: no ids to give.
      charge(d, account, contact, invoice, journal);
      return withoutIds(7, `lost the connection to ${through} while charging; the charge may have been applied`, d.contact_id);
    case 'works': {
      const applied = charge(d, account, contact, invoice, journal);
      return json(200, { result_code: 1, transaction_id: applied.id, external_txn: `GW${gateway.id}-${applied.id}`, message: 'Transaction approved', contact_id: d.contact_id });
    }
  }
}

function charge(d: SaleData, account: Account, contact: Contact, invoice: Named, journal: Journal) {
  const amountCents = d.products.reduce((sum, p) => sum + p.price * p.quantity, 0);
  contact.chargedCents += amountCents;
  return journal.record({
    id: String(70_000_000 + journal.nextSequence()),
    kind: 'load',
    account: account.label,
    payee: String(contact.id),
    amountCents,
    description: invoice.name,
  });
}

// ---- The protocol ------------------------------------------------------------------------------

/** The contact a request's data names, where it names one by a valid id. */
function contactOf(fields: Record<string, string>): number | null {
  const contactId = wireId.safeParse(fields.contact_id);
  return contactId.success ? contactId.data : null;
}

const listed = (items: Map<number, Named>) => json(200, [...items.values()].map(({ id, name }) => ({ id, name })));

/** What fault rules match on: reqType and the sale data's plain top-level values (never card_details). */
function matchFields(reqType: string | undefined, data: string | undefined): Record<string, string> {
  const value = data === undefined ? undefined : parseJson(data);
  const entries = value !== null && typeof value === 'object' && !Array.isArray(value) ? Object.entries(value) : [];
  const plain = entries.filter((entry): entry is [string, string | number] => typeof entry[1] === 'string' || typeof entry[1] === 'number');
  return { ...Object.fromEntries(plain.map(([name, v]) => [name, String(v)])), reqType: reqType ?? '' };
}

export const ontraportProtocol: Protocol = {
  provider: 'ontraport',
  open(seed, journal) {
    const accounts = new Map<string, Account>(
      parseSeed('ontraport', seedSchema, seed).accounts.map((a) => [
        a.appid,
        {
          label: a.label,
          key: a.key,
          gateways: new Map(a.gateways.map((g) => [g.id, g])),
          invoices: new Map(a.invoices.map((i) => [i.id, i])),
          products: new Map(a.products.map((p) => [p.id, p])),
          contacts: new Map(a.contacts.map((c) => [c.id, { ...c, chargedCents: 0 }])),
        },
      ]),
    );
    return {
      route(request) {
        if (request.path !== '/payments.php') return notFound(request.path);
        if (request.method !== 'POST') return methodNotAllowed('POST');
        const { appid, key, reqType, data } = formParams(request);
        const account = accounts.get(appid ?? '');
        const fields = matchFields(reqType, data);
        return {
          account: account?.label,
          fields,
          payment: reqType === 'sale',
          handle() {
            if (account === undefined || account.key !== key) return json(401, { error: 'appid and key do not match an ONTRAPORT account' });
            switch (reqType) {
              case 'sale':
                return sale(data, account, journal);
              case 'list_gateways':
                return listed(account.gateways);
              case 'list_invoices':
                return listed(account.invoices);
              default:
                return json(400, { error: 'reqType must be sale, list_gateways or list_invoices' });
            }
          },
          retryLater: () => withoutIds(4, 'temporary problem with the ONTRAPORT api; nothing was charged, try again later', contactOf(fields)),
          answerCode: (code) => withoutIds(code, `result_code ${code} (a sandbox fault)`, contactOf(fields)),
        };
      },
      state: () => ({
        accounts: [...accounts.values()].map((a) => ({
          label: a.label,
          gateways: [...a.gateways.values()].map((g) => ({ ...g })),
          invoices: [...a.invoices.values()].map((i) => ({ ...i })),
          products: [...a.products.values()].map((p) => ({ ...p })),
          contacts: [...a.contacts.values()].map((c) => ({ ...c })),
        })),
      }),
    };
  },
};
