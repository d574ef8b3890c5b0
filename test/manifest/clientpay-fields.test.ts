import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatProblem, type ManifestRow, manifestRows, scanManifest } from '../../src/manifest/index.js';
import { clientpay } from '../../src/providers/clientpay.js';

/**
 * ClientPay manifest columns. ClientPay documents no lengths: 50 characters for payeeToken and
 * referenceNumber and 100 for description are our guards, checked at the limit and one past it.
 */

let dir: string;
let files = 0;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'clientpay-fields-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

async function manifest(header: string, cells: string): Promise<string> {
  const path = join(dir, `m${(files += 1)}.csv`);
  await writeFile(path, `${header}\n${cells}\n`);
  return path;
}

async function onlyRow(cells: Record<string, string>): Promise<ManifestRow> {
  const path = await manifest(Object.keys(cells).join(','), Object.values(cells).join(','));
  const rows: ManifestRow[] = [];
  for await (const row of manifestRows(path, clientpay)) rows.push(row);
  expect(rows).toHaveLength(1);
  return rows[0]!;
}

const GOOD = { payeeToken: 'PT-0001', referenceNumber: 'REF-1', description: 'Visit 1 stipend', amount: '12.50' };
const row = (change: Partial<typeof GOOD> = {}) => onlyRow({ ...GOOD, ...change });
const problems = (r: ManifestRow) => (r.ok ? [] : r.problems.map(({ column, message }) => ({ column, message })));

describe('ClientPay fields', () => {
  it('reads a row into the wire fields, the payee being the payeeToken', async () => {
    expect(await row()).toMatchObject({ ok: true, payment: { amountCents: 1250, payee: 'PT-0001', fields: { payeeToken: 'PT-0001', referenceNumber: 'REF-1', description: 'Visit 1 stipend' } } });
    const inCents = { payeeToken: 'PT-0001', referenceNumber: 'REF-1', description: 'Visit 1 stipend', amount_cents: '1250' };
    expect(await onlyRow(inCents)).toMatchObject({ ok: true, payment: { amountCents: 1250 } });
  });

  it.each([
    ['payeeToken', 50],
    ['referenceNumber', 50],
    ['description', 100],
  ] as const)('%s: required, at most %i characters (ours), counted as characters', async (column, max) => {
    for (const char of ['x', 'é', '😀']) {
      expect((await row({ [column]: char.repeat(max) })).ok).toBe(true);
      expect(problems(await row({ [column]: char.repeat(max + 1) }))).toEqual([{ column, message: `must be at most ${max} characters (has ${max + 1})` }]);
    }
    expect(problems(await row({ [column]: '' }))).toEqual([{ column, message: 'is required and is empty' }]);
    expect(problems(await row({ [column]: '=1+1' }))).toEqual([{ column, message: 'starts with =, + or @ (looks like a spreadsheet formula)' }]);
  });

  it('refuses a card number where the payeeToken belongs', async () => {
    const path = await manifest('payeeToken,referenceNumber,description,amount', '4111111111111111,REF-1,Visit 1,12.50');
    const scan = await scanManifest(path, clientpay);
    expect(scan.fileProblems.map(formatProblem)).toEqual(['line 2, column payeeToken: holds what looks like a full card number (…1111); card numbers never belong in a manifest']);
  });

  it.each(['payeeToken', 'referenceNumber', 'description'])('requires the %s column', async (column) => {
    const others = Object.entries(GOOD).filter(([name]) => name !== column);
    const scan = await scanManifest(await manifest(others.map(([name]) => name).join(','), others.map(([, value]) => value).join(',')), clientpay);
    expect(scan.fileProblems.map(formatProblem)).toEqual([`line 1: missing required column "${column}"`]);
  });
});
