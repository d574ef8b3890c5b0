import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ManifestRow, manifestRows, scanManifest } from '../../src/manifest/index.js';
import { ctpayer } from '../../src/providers/ctpayer.js';
import type { AnyAdapter } from '../../src/providers/index.js';
import { virtualrx } from '../../src/providers/virtualrx.js';

/** Every documented field limit, at the limit and one past it, for each provider; amounts; payment ids. */

let dir: string;
let files = 0;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'manifest-fields-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

async function onlyRow(adapter: AnyAdapter, header: string, cells: string): Promise<ManifestRow> {
  const path = join(dir, `m${(files += 1)}.csv`);
  await writeFile(path, `${header}\n${cells}\n`);
  const scan = await scanManifest(path, adapter);
  expect(scan.fileProblems).toEqual([]);
  const rows: ManifestRow[] = [];
  for await (const row of manifestRows(path, adapter)) rows.push(row);
  expect(rows).toHaveLength(1);
  expect(scan.validRows + scan.rejectedRows).toBe(1);
  return rows[0]!;
}

function problems(row: ManifestRow): { column?: string; message: string }[] {
  return row.ok ? [] : row.problems.map(({ column, message }) => (column === undefined ? { message } : { column, message }));
}

const CT = 'cardId,amount,description,groupId';
const ct = (cardId: string, description: string, groupId = '', amount = '12.50') => onlyRow(ctpayer, CT, [cardId, amount, description, groupId].join(','));

describe('CT Payer fields', () => {
  it('takes a 10-digit cardId and refuses 9, 11, letters and empty', async () => {
    expect((await ct('1000000001', 'Visit 1')).ok).toBe(true);
    for (const cardId of ['100000001', '10000000011', '10000000ab', '１０００００００01']) {
      expect(problems(await ct(cardId, 'Visit 1'))).toEqual([{ column: 'cardId', message: 'must be exactly 10 digits' }]);
    }
    expect(problems(await ct('', 'Visit 1'))).toEqual([{ column: 'cardId', message: 'is required and is empty' }]);
  });

  it('counts description length in characters, not bytes: 30 is the limit', async () => {
    for (const char of ['x', 'é', '😀']) {
      expect((await ct('1000000001', char.repeat(30))).ok).toBe(true);
      expect(problems(await ct('1000000001', char.repeat(31)))).toEqual([{ column: 'description', message: 'must be at most 30 characters (has 31)' }]);
    }
    expect(problems(await ct('1000000001', ''))).toEqual([{ column: 'description', message: 'is required and is empty' }]);
  });

  it('takes a groupId of up to 15 characters, or none', async () => {
    expect((await ct('1000000001', 'Visit 1', 'G'.repeat(15))).ok).toBe(true);
    expect(problems(await ct('1000000001', 'Visit 1', 'G'.repeat(16)))).toEqual([{ column: 'groupId', message: 'must be at most 15 characters (has 16)' }]);
    const row = await ct('1000000001', 'Visit 1', '');
    expect(row.ok && row.payment.fields).toEqual({ cardId: '1000000001', description: 'Visit 1' });
  });

  it('trims the spaces around a value before checking it', async () => {
    const row = await ct(' 1000000001 ', '  Visit 1 ', ' G1 ', ' 7.00 ');
    expect(row.ok && row.payment).toMatchObject({ amountCents: 700, fields: { cardId: '1000000001', description: 'Visit 1', groupId: 'G1' } });
  });
});

const VRX_COLUMNS = ['CustId', 'ProgramId', 'ClaimReferenceNumber', 'ClientGroupID', 'ReasonDescription', 'amount_cents'];
const VRX_GOOD = { CustId: '20230226001', ProgramId: '7311', ClaimReferenceNumber: 'CLM-1', ClientGroupID: '1234', ReasonDescription: 'Visit 1', amount_cents: '1250' };
const vrx = (change: Partial<typeof VRX_GOOD>) => {
  const values = { ...VRX_GOOD, ...change };
  return onlyRow(virtualrx, VRX_COLUMNS.join(','), VRX_COLUMNS.map((c) => values[c as keyof typeof values]).join(','));
};

describe('VirtualRx fields', () => {
  it('requires CustId, ProgramId, ClaimReferenceNumber and ClientGroupID', async () => {
    expect((await vrx({})).ok).toBe(true);
    for (const column of ['CustId', 'ProgramId', 'ClaimReferenceNumber', 'ClientGroupID'] as const) {
      expect(problems(await vrx({ [column]: '' }))).toEqual([{ column, message: 'is required and is empty' }]);
      expect((await vrx({ [column]: 'x'.repeat(50) })).ok).toBe(true);
      expect(problems(await vrx({ [column]: 'x'.repeat(51) }))).toEqual([{ column, message: 'must be at most 50 characters (has 51)' }]);
    }
  });

  it('takes an optional ReasonDescription of up to 100 characters', async () => {
    const row = await vrx({ ReasonDescription: '' });
    expect(row.ok && row.payment.fields.ReasonDescription).toBeUndefined();
    expect((await vrx({ ReasonDescription: 'é'.repeat(100) })).ok).toBe(true);
    expect(problems(await vrx({ ReasonDescription: 'é'.repeat(101) }))).toEqual([{ column: 'ReasonDescription', message: 'must be at most 100 characters (has 101)' }]);
  });

  it('takes amount_cents as a positive whole number of cents', async () => {
    for (const [text, cents] of [['1250', 1250], ['1', 1], ['50000', 50000]] as const) {
      const row = await vrx({ amount_cents: text });
      expect(row.ok && row.payment.amountCents).toBe(cents);
    }
    for (const [text, message] of [
      ['12.50', '"12.50" is not a whole number of cents (digits only, e.g. 1250)'],
      ['-5', '"-5" is not a whole number of cents (digits only, e.g. 1250)'],
      ['1e3', '"1e3" is not a whole number of cents (digits only, e.g. 1250)'],
      ['0', 'must be more than zero'],
      ['', 'is required and is empty'],
    ]) {
      expect(problems(await vrx({ amount_cents: text }))).toEqual([{ column: 'amount_cents', message }]);
    }
  });
});

describe('amounts in dollars', () => {
  it.each([
    ['12.5', 1250],
    ['12.50', 1250],
    ['12', 1200],
    ['0.01', 1],
    ['9999999.99', 999_999_999],
  ])('reads %s as %i cents', async (text, cents) => {
    const row = await ct('1000000001', 'Visit 1', '', text);
    expect(row.ok && row.payment.amountCents).toBe(cents);
  });

  it.each([
    ['12.505', 'has more than two decimals'],
    ['1e3', 'uses exponent notation'],
    ['"1,000.00"', 'has a thousands separator or comma'],
    ['-5', 'has a sign'],
    ['+5', 'has a sign'],
    ['$5.00', 'has a currency symbol'],
    ['0', 'must be more than zero'],
    ['0.00', 'must be more than zero'],
    ['10000000.00', 'must be at most 9999999.99'],
    ['TBD', 'is not an amount in dollars'],
    ['', 'is required and is empty'],
  ])('refuses %s: %s', async (text, reason) => {
    const [problem, ...others] = problems(await ct('1000000001', 'Visit 1', '', text));
    expect(others).toEqual([]);
    expect(problem?.column).toBe('amount');
    expect(problem?.message).toContain(reason);
  });
});

describe('payment_id', () => {
  const withId = (id: string) => onlyRow(ctpayer, `payment_id,${CT}`, `${id},1000000001,12.50,Visit 1,`);

  it('takes 1 to 40 letters, digits, - and _', async () => {
    for (const id of ['P', 'ONC301-V3_0001', 'x'.repeat(40)]) {
      const row = await withId(id);
      expect(row.ok && row.payment.paymentId).toBe(id);
    }
  });

  it('refuses anything else and says why', async () => {
    expect(problems(await withId('x'.repeat(41)))).toEqual([{ column: 'payment_id', message: 'must be at most 40 characters (has 41)' }]);
    for (const id of ['P 1', 'P.1', 'Pé', 'P/1', '"P,1"']) {
      const [problem] = problems(await withId(id));
      expect(problem).toMatchObject({ column: 'payment_id' });
      expect(problem?.message).toContain('may contain only letters, digits, - and _');
    }
  });

  it('keeps a rejected row\'s payment id, payee and amount for the report', async () => {
    expect(await withId('P 1')).toMatchObject({ ok: false, payee: '1000000001', amountCents: 1250 });
    const row = await onlyRow(ctpayer, `payment_id,${CT}`, 'P-1,1000000001,-5,Visit 1,');
    expect(row).toMatchObject({ ok: false, paymentId: 'P-1', payee: '1000000001' });
    expect(row.ok === false && row.amountCents).toBeUndefined();
  });

  it('derives the id when the payment_id cell is empty', async () => {
    const row = await withId('');
    expect(row.ok && row.payment.paymentId).toMatch(/^r-[0-9a-f]{30}$/);
  });
});

describe('participant_id and reimbursement (any provider; kept for finance, never sent)', () => {
  const FIN = 'cardId,amount,description,Participant_ID,REIMBURSEMENT';
  const fin = (participant: string, reimbursement: string) => onlyRow(ctpayer, FIN, ['1000000001', '12.50', 'Visit 1', participant, reimbursement].join(','));

  it('reads them beside the provider fields, not into them', async () => {
    const row = await fin('P-0001', 'Yes');
    expect(row.ok && row.payment).toMatchObject({ participantId: 'P-0001', reimbursement: true, fields: { cardId: '1000000001', description: 'Visit 1' } });
    expect(row.ok && Object.keys(row.payment.fields).sort()).toEqual(['cardId', 'description']);
    for (const no of ['no', 'N', 'false', '0', '']) expect((await fin('P-0001', no)).ok && (await fin('P-0001', no))).toMatchObject({ payment: { reimbursement: false } });
    expect((await fin('', '')).ok && (await fin('', ''))).not.toHaveProperty('payment.participantId');
  });

  it('refuses a participant_id over 40 characters and a reimbursement that is not yes or no', async () => {
    expect((await fin('P'.repeat(40), 'no')).ok).toBe(true);
    expect(problems(await fin('P'.repeat(41), 'no'))).toEqual([{ column: 'participant_id', message: 'must be at most 40 characters with no control characters' }]);
    expect(problems(await fin('P-1', 'maybe'))).toEqual([{ column: 'reimbursement', message: 'must be yes or no (empty means no)' }]);
  });
});
