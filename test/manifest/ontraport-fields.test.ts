import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ManifestRow, manifestRows, scanManifest } from '../../src/manifest/index.js';
import { ontraport } from '../../src/providers/ontraport.js';

/** ONTRAPORT manifest columns: every limit at the limit and one past it, and the required columns. */

let dir: string;
let files = 0;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ontraport-fields-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

async function manifest(header: string, cells: string): Promise<string> {
  const path = join(dir, `m${(files += 1)}.csv`);
  await writeFile(path, `${header}\n${cells}\n`);
  return path;
}

async function onlyRow(header: string, cells: string): Promise<ManifestRow> {
  const path = await manifest(header, cells);
  expect((await scanManifest(path, ontraport)).fileProblems).toEqual([]);
  const rows: ManifestRow[] = [];
  for await (const read of manifestRows(path, ontraport)) rows.push(read);
  expect(rows).toHaveLength(1);
  return rows[0]!;
}

const COLUMNS = ['contact_id', 'invoice_id', 'gateway_id', 'product_id', 'amount', 'description'] as const;
const GOOD = { contact_id: '129001', invoice_id: '1', gateway_id: '1720', product_id: '1', amount: '12.50', description: 'Visit 1 stipend' };

/** The one row of a manifest with these cells, and its problems as [column, message]. */
async function row(change: Partial<typeof GOOD> = {}) {
  const values = { ...GOOD, ...change };
  const only = await onlyRow(COLUMNS.join(','), COLUMNS.map((c) => values[c]).join(','));
  return { row: only, problems: only.ok ? [] : only.problems.map((p) => [p.column, p.message]) };
}

describe('the ids: contact_id, invoice_id, gateway_id, product_id', () => {
  it.each(['contact_id', 'invoice_id', 'gateway_id', 'product_id'] as const)('%s: required, digits only, 1 to 10 of them (our guard)', async (column) => {
    expect((await row({ [column]: '9' })).problems).toEqual([]);
    expect((await row({ [column]: '9'.repeat(10) })).problems).toEqual([]);
    for (const value of ['9'.repeat(11), 'C-129001', '12.5', '-1', '１２']) {
      expect((await row({ [column]: value })).problems).toEqual([[column, 'must be 1 to 10 digits']]);
    }
    expect((await row({ [column]: '' })).problems).toEqual([[column, 'is required and is empty']]);
  });

  it('the payee is the contact_id', async () => {
    const { row: good } = await row({ contact_id: '129007' });
    expect(good.ok && good.payment).toMatchObject({ payee: '129007', amountCents: 1250 });
  });
});

describe('description (kept for the client\'s records, never sent)', () => {
  it('is optional and takes up to 100 characters, counted as characters', async () => {
    const { row: empty } = await row({ description: '' });
    expect(empty.ok && empty.payment.fields).toEqual({ contact_id: '129001', invoice_id: '1', gateway_id: '1720', product_id: '1' });
    for (const char of ['d', 'é', '🩺']) {
      expect((await row({ description: char.repeat(100) })).problems).toEqual([]);
      expect((await row({ description: char.repeat(101) })).problems).toEqual([['description', 'must be at most 100 characters (has 101)']]);
    }
    expect((await row({ description: '=1+1' })).problems).toEqual([['description', 'starts with =, + or @ (looks like a spreadsheet formula)']]);
  });
});

describe('the header', () => {
  it.each(['contact_id', 'invoice_id', 'gateway_id', 'product_id'])('refuses a manifest without the required column %s', async (missing) => {
    const kept = COLUMNS.filter((c) => c !== missing);
    const scan = await scanManifest(await manifest(kept.join(','), kept.map((c) => GOOD[c]).join(',')), ontraport);
    expect(scan.fileProblems.map((p) => p.message)).toEqual([`missing required column "${missing}"`]);
  });

  it('takes a manifest without description, and amount_cents instead of amount', async () => {
    const only = await onlyRow('contact_id,invoice_id,gateway_id,product_id,amount_cents', '129001,1,1720,1,1250');
    expect(only.ok && only.payment).toMatchObject({ amountCents: 1250, payee: '129001' });
  });
});
