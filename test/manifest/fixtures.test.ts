import { describe, expect, it } from 'vitest';
import { type ManifestScan, formatProblem, manifestRows, scanManifest } from '../../src/manifest/index.js';
import { fixturePath } from '../../src/package-root.js';
import { getAdapter } from '../../src/providers/index.js';

/** The sample manifests the demo pays and the documentation shows, against the sandbox seeds. */

const scanFixture = (provider: string, file: string) => scanManifest(fixturePath(provider, file), getAdapter(provider));
const messages = (scan: ManifestScan) => ({ file: scan.fileProblems.map(formatProblem), rows: scan.rowProblems.map(formatProblem) });

async function payments(provider: string, file: string) {
  const out = [];
  for await (const row of manifestRows(fixturePath(provider, file), getAdapter(provider))) {
    if (!row.ok) throw new Error(`line ${row.line} rejected`);
    out.push(row.payment);
  }
  return out;
}

describe('valid and demo manifests', () => {
  it.each([
    ['ctpayer', 'valid.csv', 12],
    ['ctpayer', 'demo.csv', 10],
    ['virtualrx', 'valid.csv', 10],
    ['virtualrx', 'demo.csv', 10],
    ['ptapi', 'valid.csv', 10],
    ['ptapi', 'demo.csv', 10],
    ['ontraport', 'valid.csv', 12],
    ['ontraport', 'demo.csv', 10],
    ['clientpay', 'valid.csv', 12],
    ['clientpay', 'demo.csv', 10],
  ])('%s/%s has no problems', async (provider, file, rows) => {
    const scan = await scanFixture(provider, file);
    expect(messages(scan)).toEqual({ file: [], rows: [] });
    expect(scan).toMatchObject({ dataRows: rows, validRows: rows, rejectedRows: 0, rowProblemCount: 0 });
  });

  it('pay only seeded cards and customers, within the sandbox limits', async () => {
    const active = (first: number, n: number) => Array.from({ length: n }, (_, i) => String(first + i));
    const ctCards = active(1000000001, 20);
    const vrxCustomers = active(20230226001, 20);
    for (const payment of await payments('ctpayer', 'valid.csv')) {
      expect(ctCards).toContain(payment.payee);
      expect(payment.amountCents).toBeGreaterThanOrEqual(500);
      expect(payment.amountCents).toBeLessThanOrEqual(15000);
    }
    for (const payment of await payments('virtualrx', 'valid.csv')) {
      expect(vrxCustomers).toContain(payment.payee);
      expect(payment.fields.ProgramId).toBe('7311');
      expect(payment.amountCents).toBeLessThanOrEqual(50000);
    }
    // Each demo has one payment the provider will decline: the canceled card, the suspended customer,
    // the suspended cardholder, the contact without a card on file, the closed payee account.
    const outsiders = async (provider: string, active: string[]) => (await payments(provider, 'demo.csv')).filter((p) => !active.includes(p.payee)).map((p) => p.payee);
    const numbered = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${String(i + 1).padStart(4, '0')}`);
    expect(await outsiders('ctpayer', ctCards)).toEqual(['1000000022']);
    expect(await outsiders('virtualrx', vrxCustomers)).toEqual(['20230226021']);
    expect(await outsiders('ptapi', numbered('CH', 20))).toEqual(['CH0021']);
    expect(await outsiders('ontraport', active(129001, 20))).toEqual(['129021']);
    expect(await outsiders('clientpay', numbered('PT-', 20))).toEqual(['PT-0021']);
  });

  it('keeps a quoted description with a comma intact', async () => {
    expect((await payments('ctpayer', 'valid.csv')).map((p) => p.fields.description)).toContain('Meals, screening day');
  });
});

describe('broken manifests show their one mistake', () => {
  it.each([
    ['ctpayer', 'broken-long-description.csv', [], ['line 3, column description: must be at most 30 characters (has 36)']],
    ['ctpayer', 'broken-card-id.csv', [], ['line 3, column cardId: must be exactly 10 digits', 'line 4, column cardId: must be exactly 10 digits']],
    ['ctpayer', 'broken-card-number.csv', ['line 3, column cardId: holds what looks like a full card number (…1111); card numbers never belong in a manifest'], []],
    ['ctpayer', 'broken-duplicate.csv', ['line 5, column payment_id: the same payment as line 3 (payment_id ONC301-V5-0032)'], []],
    [
      'ctpayer',
      'broken-amount.csv',
      [],
      [
        'line 3, column amount: "1,000.00" has a thousands separator or comma; write 1000.00, not 1,000.00',
        'line 4, column amount: "12.505" has more than two decimals',
        'line 5, column amount: "-5" has a sign; amounts are positive numbers like 12.50',
        'line 6, column amount: is required and is empty',
      ],
    ],
    ['ctpayer', 'broken-unknown-column.csv', [/^line 1: unknown column "participantName"; the columns CT Payer manifests use are: /], []],
    ['ctpayer', 'broken-missing-column.csv', ['line 1: missing required column "cardId"'], []],
    ['ctpayer', 'broken-not-utf8.csv', [/^line 3: the file is not valid UTF-8 .*save it as UTF-8/], []],
    ['ctpayer', 'broken-formula.csv', [], ['line 3, column description: starts with =, + or @ (looks like a spreadsheet formula)']],
    [
      'ctpayer',
      'broken-mixed.csv',
      [],
      ['line 4, column cardId: must be exactly 10 digits', 'line 6, column amount: "1e2" uses exponent notation; write the amount out, like 1000.00', 'line 8, column description: is required and is empty'],
    ],
    [
      'virtualrx',
      'broken-missing-field.csv',
      [],
      ['line 3, column ClaimReferenceNumber: is required and is empty', 'line 4, column ProgramId: is required and is empty'],
    ],
    ['virtualrx', 'broken-card-number.csv', ['line 3, column CustId: holds what looks like a full card number (…0004); card numbers never belong in a manifest'], []],
    ['virtualrx', 'broken-duplicate.csv', [/^line 4: the same payment as line 2 \(identical rows/], []],
    [
      'virtualrx',
      'broken-amount.csv',
      [],
      [
        'line 3, column amount_cents: "100.00" is not a whole number of cents (digits only, e.g. 1250)',
        'line 4, column amount_cents: must be more than zero',
        'line 5, column amount_cents: "-500" is not a whole number of cents (digits only, e.g. 1250)',
      ],
    ],
    ['virtualrx', 'broken-unknown-column.csv', [/^line 1: unknown column "Notes"/], []],
    ['virtualrx', 'broken-missing-column.csv', ['line 1: missing required column "ClientGroupID"'], []],
    ['virtualrx', 'broken-both-amounts.csv', ['line 1: has both "amount" and "amount_cents"; keep one, so each row has a single amount'], []],
    ['virtualrx', 'broken-not-utf8.csv', [/^line 3: the file is not valid UTF-8/], []],
    ['virtualrx', 'broken-utf16.csv', ['line 1: the file is UTF-16 encoded; save it as UTF-8 (in Excel: "CSV UTF-8 (Comma delimited)")'], []],
    ['virtualrx', 'broken-formula.csv', [], ['line 3, column ReasonDescription: starts with =, + or @ (looks like a spreadsheet formula)']],
    [
      'virtualrx',
      'broken-mixed.csv',
      [],
      ['line 4, column ClientGroupID: is required and is empty', 'line 6, column amount_cents: "12.50" is not a whole number of cents (digits only, e.g. 1250)'],
    ],
    ['ptapi', 'broken-amount.csv', [], [
      'line 3, column amount: "75,00" has a thousands separator or comma; write 1000.00, not 1,000.00',
      'line 4, column amount: "$75.00" has a currency symbol; write the number only',
      'line 5, column amount: must be more than zero',
      'line 6, column amount: "75.005" has more than two decimals',
    ]],
    ['ptapi', 'broken-card-number.csv', ['line 3, column cardholderId: holds what looks like a full card number (…1111); card numbers never belong in a manifest'], []],
    ['ptapi', 'broken-duplicate.csv', ['line 5, column payment_id: the same payment as line 3 (payment_id RESP4-V3-0022)'], []],
    ['ptapi', 'broken-long-description.csv', [], ['line 3, column description: must be at most 100 characters (has 102)']],
    ['ptapi', 'broken-missing-column.csv', ['line 1: missing required column "programId"'], []],
    ['ptapi', 'broken-unknown-column.csv', [/^line 1: unknown column "cardholderName"; the columns PT API manifests use are: /], []],
    ['ptapi', 'broken-mixed.csv', [], [
      'line 3, column customerId: is required and is empty',
      'line 5, column amount: "-75.00" has a sign; amounts are positive numbers like 12.50',
      'line 7, column description: starts with =, + or @ (looks like a spreadsheet formula)',
    ]],
    ['ontraport', 'broken-amount.csv', [], [
      'line 3, column amount: "1,000.00" has a thousands separator or comma; write 1000.00, not 1,000.00',
      'line 4, column amount: "12.505" has more than two decimals',
      'line 5, column amount: "$75.00" has a currency symbol; write the number only',
      'line 6, column amount: must be more than zero',
    ]],
    ['ontraport', 'broken-card-number.csv', ['line 3, column contact_id: holds what looks like a full card number (…1111); card numbers never belong in a manifest'], []],
    ['ontraport', 'broken-duplicate.csv', ['line 5, column payment_id: the same payment as line 3 (payment_id DERM44-V4-0022)'], []],
    ['ontraport', 'broken-long-description.csv', [], ['line 3, column description: must be at most 100 characters (has 104)']],
    ['ontraport', 'broken-missing-column.csv', ['line 1: missing required column "gateway_id"'], []],
    ['ontraport', 'broken-unknown-column.csv', [/^line 1: unknown column "card_number"; the columns ONTRAPORT manifests use are: /], []],
    ['ontraport', 'broken-mixed.csv', [], [
      'line 4, column contact_id: must be 1 to 10 digits',
      'line 6, column amount: "1e2" uses exponent notation; write the amount out, like 1000.00',
      'line 8, column gateway_id: is required and is empty',
    ]],
    ['clientpay', 'broken-amount.csv', [], [
      'line 3, column amount: "$60.00" has a currency symbol; write the number only',
      'line 4, column amount: "60.005" has more than two decimals',
      'line 5, column amount: must be more than zero',
      'line 6, column amount: is required and is empty',
    ]],
    ['clientpay', 'broken-card-number.csv', ['line 3, column payeeToken: holds what looks like a full card number (…1111); card numbers never belong in a manifest'], []],
    ['clientpay', 'broken-duplicate.csv', ['line 5, column payment_id: the same payment as line 3 (payment_id DERM404-V4-0032)'], []],
    ['clientpay', 'broken-long-description.csv', [], ['line 3, column description: must be at most 100 characters (has 104)']],
    ['clientpay', 'broken-missing-column.csv', ['line 1: missing required column "referenceNumber"'], []],
    ['clientpay', 'broken-unknown-column.csv', [/^line 1: unknown column "cardholderName"; the columns ClientPay manifests use are: /], []],
    ['clientpay', 'broken-mixed.csv', [], [
      'line 4, column referenceNumber: is required and is empty',
      'line 6, column amount: "1,060.00" has a thousands separator or comma; write 1000.00, not 1,000.00',
      'line 8, column payeeToken: is required and is empty',
    ]],
  ] as [string, string, (string | RegExp)[], string[]][])('%s/%s', async (provider, file, fileProblems, rowProblems) => {
    const scan = await scanFixture(provider, file);
    const found = messages(scan);
    expect(found.file).toEqual(fileProblems.map((p) => (typeof p === 'string' ? p : expect.stringMatching(p))));
    expect(found.rows).toEqual(rowProblems);
  });

  it('broken-mixed.csv still has valid rows to pay with --allow-partial', async () => {
    expect(await scanFixture('ctpayer', 'broken-mixed.csv')).toMatchObject({ dataRows: 8, validRows: 5, rejectedRows: 3 });
    expect(await scanFixture('virtualrx', 'broken-mixed.csv')).toMatchObject({ dataRows: 6, validRows: 4, rejectedRows: 2 });
    expect(await scanFixture('ptapi', 'broken-mixed.csv')).toMatchObject({ dataRows: 7, validRows: 4, rejectedRows: 3 });
    expect(await scanFixture('ontraport', 'broken-mixed.csv')).toMatchObject({ dataRows: 8, validRows: 5, rejectedRows: 3 });
    expect(await scanFixture('clientpay', 'broken-mixed.csv')).toMatchObject({ dataRows: 8, validRows: 5, rejectedRows: 3 });
  });
});
