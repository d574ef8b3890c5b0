import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { writeWholeFiles } from '../../src/reports/whole-files.js';

/** A report's files appear together once complete; a failure part-way leaves what was there. */

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'stipend-whole-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

it('keeps the previous files and no temporary ones when writing fails half-way', async () => {
  const [rows, totals] = [join(dir, 'a.csv'), join(dir, 'a.totals.csv')];
  await writeFile(rows, 'before\n');
  const failing = writeWholeFiles([rows, totals], async ([rowsTemp]) => {
    await writeFile(rowsTemp!, 'half of the rows\n');
    throw new Error('the ledger went away');
  });
  await expect(failing).rejects.toThrow('the ledger went away');
  expect(await readdir(dir)).toEqual(['a.csv']);
  expect(await readFile(rows, 'utf8')).toBe('before\n');

  await writeWholeFiles([rows, totals], ([rowsTemp, totalsTemp]) => Promise.all([writeFile(rowsTemp!, 'rows\n'), writeFile(totalsTemp!, 'totals\n')]));
  expect((await readdir(dir)).sort()).toEqual(['a.csv', 'a.totals.csv']);
  expect(await readFile(rows, 'utf8')).toBe('rows\n');
});
