import { execFile } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { scanManifest } from '../../src/manifest/index.js';
import { ctpayer } from '../../src/providers/ctpayer.js';

/** Manifests far larger than anything kept in memory: the reading streams, and reports stay bounded. */

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'manifest-large-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

async function writeRows(name: string, header: string, rows: number, row: (i: number) => string): Promise<string> {
  const path = join(dir, name);
  const out = createWriteStream(path);
  out.write(`${header}\n`);
  for (let i = 0; i < rows; i += 1) {
    if (!out.write(`${row(i)}\n`)) await new Promise<void>((done) => out.once('drain', () => done()));
  }
  await new Promise<void>((done) => out.end(() => done()));
  return path;
}

it('reads an 8 MB manifest through a 32 MB heap', async () => {
  const rows = 200_000;
  const path = await writeRows('big.csv', 'cardId,amount,description', rows, (i) => `${1000000001 + (i % 20)},${(i % 9000) + 1}.25,Visit ${i} stipend`);
  // A separate process, so the heap limit is the manifest reader's alone.
  const script = join(dir, 'count-rows.mts');
  const manifest = pathToFileURL(resolve('src/manifest/index.ts')).href;
  const providers = pathToFileURL(resolve('src/providers/index.ts')).href;
  await writeFile(
    script,
    `import { manifestRows } from '${manifest}';\nimport { getAdapter } from '${providers}';\n` +
      `let valid = 0;\nfor await (const row of manifestRows(process.argv[2], getAdapter('ctpayer'))) if (row.ok) valid += 1;\nconsole.log(valid);\n`,
  );
  const { stdout } = await promisify(execFile)(process.execPath, ['--max-old-space-size=32', '--import', 'tsx', script, path], { cwd: resolve('.') });
  expect(stdout.trim()).toBe(String(rows));
});

it('keeps the first 1000 row problems and counts the rest', async () => {
  const path = await writeRows('garbage.csv', 'cardId,amount,description', 5000, (i) => `${i},-${i},Visit`);
  const scan = await scanManifest(path, ctpayer);
  expect(scan).toMatchObject({ dataRows: 5000, validRows: 0, rejectedRows: 5000, rowProblemCount: 10_000 });
  expect(scan.rowProblems).toHaveLength(1000);
  expect(scan.rowProblems[999]).toMatchObject({ line: 501, column: 'amount' });
});

it('keeps the first 1000 file problems and says how many more there are', async () => {
  const path = await writeRows('twice.csv', 'payment_id,cardId,amount,description', 3000, () => 'P-1,1000000001,5.00,Visit 1');
  const scan = await scanManifest(path, ctpayer);
  expect(scan.fileProblems).toHaveLength(1001);
  expect(scan.fileProblems[999]).toEqual({ line: 1002, column: 'payment_id', message: 'the same payment as line 2 (payment_id P-1)' });
  expect(scan.fileProblems[1000]).toEqual({ line: 1003, message: 'and 1,999 more problems like the ones above from this line on' });
});
