import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatProblem, type ManifestRow, manifestRows, scanManifest } from '../../src/manifest/index.js';
import { ptapi } from '../../src/providers/ptapi.js';

/** PT API manifest columns: required ones, and our own length guards at the limit and one past it. */

let dir: string;
let files = 0;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ptapi-fields-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

async function manifest(header: string, cells: string): Promise<string> {
  const path = join(dir, `m${(files += 1)}.csv`);
  await writeFile(path, `${header}\n${cells}\n`);
  return path;
}

const COLUMNS = ['cardholderId', 'customerId', 'programId', 'description', 'amount_cents'] as const;
const GOOD = { cardholderId: 'CH0001', customerId: 'C200', programId: 'PR300', description: 'Visit 1 stipend', amount_cents: '1250' };

async function row(change: Partial<typeof GOOD> = {}): Promise<ManifestRow> {
  const values = { ...GOOD, ...change };
  const path = await manifest(COLUMNS.join(','), COLUMNS.map((c) => values[c]).join(','));
  const rows: ManifestRow[] = [];
  for await (const read of manifestRows(path, ptapi)) rows.push(read);
  expect(rows).toHaveLength(1);
  return rows[0]!;
}

const problems = (read: ManifestRow) => (read.ok ? [] : read.problems.map(({ column, message }) => ({ column, message })));

describe('PT API fields', () => {
  it('reads a row into the wire fields, the cardholder being the payee', async () => {
    expect(await row()).toMatchObject({ ok: true, payment: { payee: 'CH0001', amountCents: 1250, fields: { cardholderId: 'CH0001', customerId: 'C200', programId: 'PR300', description: 'Visit 1 stipend' } } });
  });

  it('requires each of cardholderId, customerId, programId and description, as a column and in every row', async () => {
    for (const column of ['cardholderId', 'customerId', 'programId', 'description'] as const) {
      expect(problems(await row({ [column]: '' }))).toEqual([{ column, message: 'is required and is empty' }]);
      const others = COLUMNS.filter((c) => c !== column);
      const scan = await scanManifest(await manifest(others.join(','), others.map((c) => GOOD[c]).join(',')), ptapi);
      expect(scan.fileProblems.map(formatProblem)).toEqual([`line 1: missing required column "${column}"`]);
    }
  });

  it('takes identifiers of up to 50 characters (our guard: PT API documents none)', async () => {
    for (const column of ['cardholderId', 'customerId', 'programId'] as const) {
      expect((await row({ [column]: 'é'.repeat(50) })).ok).toBe(true);
      expect(problems(await row({ [column]: 'é'.repeat(51) }))).toEqual([{ column, message: 'must be at most 50 characters (has 51)' }]);
    }
  });

  it('takes a description of up to 100 characters (our guard), counted as characters', async () => {
    for (const char of ['x', '😀']) {
      expect((await row({ description: char.repeat(100) })).ok).toBe(true);
      expect(problems(await row({ description: char.repeat(101) }))).toEqual([{ column: 'description', message: 'must be at most 100 characters (has 101)' }]);
    }
  });
});
