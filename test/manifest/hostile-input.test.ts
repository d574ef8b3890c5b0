import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ManifestRow, type ManifestScan, formatProblem, manifestRows, scanManifest } from '../../src/manifest/index.js';
import { ctpayer } from '../../src/providers/ctpayer.js';

/** Files a finance export, a careless edit or an attacker could produce. */

let dir: string;
let files = 0;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'manifest-hostile-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

async function write(content: string | Buffer): Promise<string> {
  const path = join(dir, `m${(files += 1)}.csv`);
  await writeFile(path, content);
  return path;
}

const scan = async (content: string | Buffer) => scanManifest(await write(content), ctpayer);
const fileMessages = (s: ManifestScan) => s.fileProblems.map(formatProblem);
const rowMessages = (s: ManifestScan) => s.rowProblems.map(formatProblem);

async function rows(content: string | Buffer): Promise<ManifestRow[]> {
  const out: ManifestRow[] = [];
  for await (const row of manifestRows(await write(content), ctpayer)) out.push(row);
  return out;
}

const HEADER = 'payment_id,cardId,amount,description,groupId';

describe('cell content', () => {
  it('refuses spreadsheet formulas', async () => {
    const s = await scan(`${HEADER}\nP1,1000000001,5.00,"=HYPERLINK(""http://x"",""y"")",\nP2,1000000002,5.00,+SUM(A1),\nP3,1000000003,5.00,@cmd,\nP4,1000000004,5.00,Visit = 1,\n`);
    expect(rowMessages(s)).toEqual([2, 3, 4].map((line) => `line ${line}, column description: starts with =, + or @ (looks like a spreadsheet formula)`));
    expect(s.validRows).toBe(1);
  });

  it('refuses control characters and line breaks inside values', async () => {
    const s = await scan(`${HEADER}\nP1,1000000001,5.00,"Visit\n1",\nP2,1000000002,5.00,Visit\u00071,\nP3,1000000003,5.00,Visit\t1,\nP4,1000000004,5.00,ok,G\u00001\n`);
    expect(rowMessages(s)).toEqual([
      'line 2, column description: contains a control character or line break (not allowed in payment fields)',
      'line 4, column description: contains a control character or line break (not allowed in payment fields)',
      'line 5, column description: contains a control character or line break (not allowed in payment fields)',
      'line 6, column groupId: contains a control character or line break (not allowed in payment fields)',
    ]);
  });

  it('rejects the manifest for a card number in any column and never repeats its digits', async () => {
    const content = [
      HEADER,
      'P1,1000000001,5.00,4111 1111 1111 1111,',
      'P2,4111-1111-1111-1111,5.00,Visit 1,',
      'P3,1000000003,5500000000000004,Visit 1,',
      '5500000000000004,1000000004,5.00,Visit 1,',
      'P5,1000000005,5.00,Visit 1,378282246310005',
      'P6,1000000006,5.00,Visit 1,G1,4111111111111111',
    ].join('\n');
    const s = await scan(content);
    expect(fileMessages(s)).toEqual([
      'line 2, column description: holds what looks like a full card number (…1111); card numbers never belong in a manifest',
      'line 3, column cardId: holds what looks like a full card number (…1111); card numbers never belong in a manifest',
      'line 4, column amount: holds what looks like a full card number (…0004); card numbers never belong in a manifest',
      'line 5, column payment_id: holds what looks like a full card number (…0004); card numbers never belong in a manifest',
      'line 6, column groupId: holds what looks like a full card number (…0005); card numbers never belong in a manifest',
      'line 7: cell 6 holds what looks like a full card number (…1111); card numbers never belong in a manifest',
    ]);
    const everything = JSON.stringify([s, await rows(content)]);
    for (const digits of ['4111', '1111 1111', '5500000000', '3782822463']) expect(everything).not.toContain(digits);
  });

  it('does not take other long numbers for card numbers', async () => {
    // 16 digits failing the Luhn check, 12 digits passing it, and a 20-digit number.
    const s = await scan(`${HEADER}\nP1,1000000001,5.00,4111111111111112,\nP2,1000000002,5.00,411111111113,\nP3,1000000003,5.00,41111111111111111113,\n`);
    expect(s.fileProblems).toEqual([]);
    expect(s.validRows).toBe(3);
  });

  it('reports a 100 KB cell as a file problem without reading it into memory whole', async () => {
    const s = await scan(`${HEADER}\nP1,1000000001,5.00,Visit 1,\nP2,1000000002,5.00,"${'x'.repeat(100_000)}",\n`);
    expect(fileMessages(s)).toEqual(['line 3: this row is longer than 10,000 bytes (an oversize cell or a quote that is never closed)']);
  });

  it('prints every problem on one line, even one quoting a line break from a cell', async () => {
    const s = await scan('cardId,amount,description\n1000000001,"1\n2",Visit 1\n1000000002,"3\u2028\u00854",Visit 1\n');
    expect(rowMessages(s)).toEqual([
      'line 2, column amount: "1\\n2" is not an amount in dollars with at most two decimals (e.g. 12.50)',
      'line 4, column amount: "3\\u2028\\u00854" is not an amount in dollars with at most two decimals (e.g. 12.50)',
    ]);
  });

  it('quotes at most 20 characters of a bad value', async () => {
    const s = await scan(`payment_id,cardId,amount,description\n${'P'.repeat(30)}.x,1000000001,5.00,Visit 1\n`);
    expect(rowMessages(s)).toEqual([`line 2, column payment_id: "${'P'.repeat(20)}…" may contain only letters, digits, - and _ (at most 40 characters)`]);
  });
});

describe('encoding', () => {
  it('refuses a binary file', async () => {
    const png = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), randomBytes(2000)]);
    const s = await scan(png);
    expect(s.fileProblems).toHaveLength(1);
    expect(formatProblem(s.fileProblems[0]!)).toMatch(/^line 1: the file is not valid UTF-8 .*save it as UTF-8/);
  });

  it('names the line of the first byte that is not UTF-8, far into the file', async () => {
    // Multi-byte characters all the way, so chunk boundaries fall inside characters.
    const good = Array.from({ length: 5000 }, (_, i) => `P${i},1000000001,5.00,Visité ${i} 😀,`).join('\n');
    const bad = Buffer.concat([Buffer.from(`${HEADER}\n${good}\nPX,1000000001,5.00,Jos`), Buffer.from([0xe9]), Buffer.from(',\n')]);
    expect(fileMessages(await scan(bad))).toEqual([expect.stringMatching(/^line 5002: the file is not valid UTF-8/)]);
    const valid = await scan(`${HEADER}\n${good}\n`);
    expect(valid).toMatchObject({ fileProblems: [], dataRows: 5000, validRows: 5000 });
  });

  it('refuses a file cut off in the middle of a character', async () => {
    const s = await scan(Buffer.concat([Buffer.from(`${HEADER}\nP1,1000000001,5.00,Visit \n`), Buffer.from([0xf0, 0x9f])]));
    expect(fileMessages(s)).toEqual([expect.stringMatching(/^line 3: the file is not valid UTF-8/)]);
  });

  it('says a UTF-16 file is UTF-16', async () => {
    const text = `${HEADER}\r\nP1,1000000001,5.00,Visit 1,\r\n`;
    const le = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]);
    const be = Buffer.from(le.map((_, i) => le[i ^ 1]!));
    for (const file of [le, be]) {
      expect(fileMessages(await scan(file))).toEqual(['line 1: the file is UTF-16 encoded; save it as UTF-8 (in Excel: "CSV UTF-8 (Comma delimited)")']);
    }
  });

  it('reads UTF-8 with a byte order mark and CRLF line ends', async () => {
    const content = `\uFEFF${HEADER}\r\nP1,1000000001,5.00,Visit 1,\r\nP2,1000000002,-5,Visit 1,\r\n`;
    const s = await scan(content);
    expect(s.fileProblems).toEqual([]);
    expect(rowMessages(s)).toEqual(['line 3, column amount: "-5" has a sign; amounts are positive numbers like 12.50']);
    const [first] = await rows(content);
    expect(first).toMatchObject({ ok: true, payment: { paymentId: 'P1', fields: { description: 'Visit 1' } } });
  });
});

describe('CSV structure', () => {
  it('numbers lines as the file does, across quoted line breaks, blank lines and empty rows', async () => {
    const content = [
      'cardId,amount,description', // 1
      '1000000001,1.00,"Visit', // 2
      '1"', // 3
      '', // 4
      '1000000002,-5,Visit 2', // 5
      ',,', // 6: an empty row, as Excel leaves them
      '"1000000003",1.00,"a ""quoted"" word"', // 7
      '1000000004,x,"two\r\nlines"', // 8-9, a CRLF inside quotes
      '1000000005,-1,ok\r1000000006,-2,ok', // 10-11, a lone CR (old Mac) ends a line too
      '1000000007,-3,ok', // 12
    ].join('\n');
    const s = await scan(content);
    expect(s.rowProblems.map((p) => [p.line, p.column])).toEqual([
      [2, 'description'],
      [5, 'amount'],
      [8, 'amount'],
      [8, 'description'],
      [10, 'amount'],
      [11, 'amount'],
      [12, 'amount'],
    ]);
    expect(s).toMatchObject({ dataRows: 7, validRows: 1, rejectedRows: 6 });
    expect((await rows(content)).map((r) => r.line)).toEqual([2, 5, 7, 8, 10, 11, 12]);
  });

  it('reports a row with more or fewer cells than the header', async () => {
    const s = await scan(`cardId,amount,description\n1000000001,1.00\n1000000002,1.00,Visit 1,extra\n1000000003,1.00,Visit 1\n`);
    expect(rowMessages(s)).toEqual([
      'line 2: has 2 cells but the header has 3 columns; every row needs one value (or an empty cell) per column',
      'line 3: has 4 cells but the header has 3 columns; every row needs one value (or an empty cell) per column',
    ]);
    expect(s.validRows).toBe(1);
  });

  it('reports a quote that is never closed at the line where it opens', async () => {
    const s = await scan(`cardId,amount,description\n1000000001,1.00,ok\n1000000002,1.00,"Visit 2\n1000000003,1.00,ok\n`);
    expect(fileMessages(s)).toEqual(['line 3: a quoted value is never closed: a " opens a value that runs to the end of the file']);
  });

  it('reports a stray quote as a CSV mistake', async () => {
    const s = await scan(`cardId,amount,description\n1000000001,1.00,12" ruler\n1000000002,1.00,"Visit" 2\n`);
    expect(fileMessages(s)).toEqual([expect.stringMatching(/^line 2: a " appears inside a value/)]);
  });
});

describe('the same payment twice', () => {
  it('names both lines of a repeated payment_id', async () => {
    const s = await scan(`${HEADER}\nP-4,1000000001,5.00,Visit 1,\nP-7,1000000002,5.00,Visit 1,\nP-7,1000000003,6.00,Visit 2,\nP-7,1000000004,7.00,Visit 3,\n`);
    expect(fileMessages(s)).toEqual([
      'line 4, column payment_id: the same payment as line 3 (payment_id P-7)',
      'line 5, column payment_id: the same payment as line 3 (payment_id P-7)',
    ]);
  });

  it('takes identical rows without payment_id for one payment entered twice', async () => {
    const s = await scan(`cardId,amount,description\n1000000001,5.00,Visit 1\n1000000001,5.00,Visit 2\n1000000001,5,Visit 1\n`);
    expect(fileMessages(s)).toEqual([
      'line 4: the same payment as line 2 (identical rows: same payee, amount and fields); if both are meant to be paid, give each its own payment_id',
    ]);
  });

  it('pays identical rows that carry different payment ids', async () => {
    const s = await scan(`${HEADER}\nA,1000000001,5.00,Visit 1,\nB,1000000001,5.00,Visit 1,\n`);
    expect(s).toMatchObject({ fileProblems: [], validRows: 2 });
  });
});

describe('header', () => {
  it('matches column names in any case, ignoring spaces around them', async () => {
    const s = await scan(' CARDID ,Amount,Description\n1000000001,5.00,Visit 1\n');
    expect(s).toMatchObject({ fileProblems: [], validRows: 1 });
  });

  it('names an unknown column and lists the allowed ones', async () => {
    const s = await scan(`${HEADER},participantName\nP1,1000000001,5.00,Visit 1,,A. Rivera\n`);
    expect(fileMessages(s)).toEqual([
      'line 1: unknown column "participantName"; the columns CT Payer manifests use are: payment_id, cardId, description, groupId, amount, amount_cents, participant_id, reimbursement',
    ]);
  });

  it('says when the file uses semicolons instead of commas', async () => {
    const s = await scan('cardId;amount;description\n1000000001;5.00;Visit 1\n');
    expect(fileMessages(s)[0]).toContain('(the file seems to use ; between values; save it with commas)');
  });

  it('names a missing required column', async () => {
    expect(fileMessages(await scan('amount,description\n5.00,Visit 1\n'))).toEqual(['line 1: missing required column "cardId"']);
  });

  it('refuses a column named twice, an unnamed column, and both or neither amount column', async () => {
    expect(fileMessages(await scan('cardId,amount,CardId,description\n1,2,3,4\n'))).toEqual(['line 1, column cardId: appears twice in the header (columns 1 and 3)']);
    expect(fileMessages(await scan('cardId,amount,,description\n1,2,3,4\n'))).toEqual(['line 1: column 3 has no name in the header; every column needs one']);
    expect(fileMessages(await scan('cardId,amount,amount_cents,description\n1,2,3,4\n'))).toEqual([
      'line 1: has both "amount" and "amount_cents"; keep one, so each row has a single amount',
    ]);
    expect(fileMessages(await scan('cardId,description\n1,2\n'))).toEqual([
      'line 1: missing the amount column: add "amount" (dollars, e.g. 12.50) or "amount_cents" (whole cents, e.g. 1250)',
    ]);
  });

  it('needs a header and at least one data row', async () => {
    expect(fileMessages(await scan(''))).toEqual(['line 1: no header row: the file is empty']);
    expect(fileMessages(await scan('\n\n,,\n'))).toEqual(['line 1: no header row: the file is empty']);
    expect(fileMessages(await scan(`${HEADER}\n\n,,,,\n`))).toEqual(['line 1: no data rows: the file has a header but no payments under it']);
    expect(await scan(`${HEADER}\n`)).toMatchObject({ dataRows: 0, validRows: 0 });
  });
});

describe('the file itself', () => {
  it('throws a one-line ManifestFileError for a file that cannot be read', async () => {
    await expect(scanManifest(join(dir, 'missing.csv'), ctpayer)).rejects.toMatchObject({
      code: 'MANIFEST_FILE',
      message: `cannot read the manifest ${join(dir, 'missing.csv')}: no such file`,
    });
    await expect(scanManifest(dir, ctpayer)).rejects.toMatchObject({ code: 'MANIFEST_FILE', message: expect.stringContaining('it is a folder') });
  });

  it('hashes the exact bytes, whatever the content', async () => {
    const content = Buffer.from([0xff, 0x00, 0x41]);
    const { createHash } = await import('node:crypto');
    expect((await scan(content)).sha256).toBe(createHash('sha256').update(content).digest('hex'));
  });

  it('formats problems with and without a column', () => {
    expect(formatProblem({ line: 7, column: 'description', message: 'must be at most 30 characters (has 31)' })).toBe(
      'line 7, column description: must be at most 30 characters (has 31)',
    );
    expect(formatProblem({ line: 1, message: 'missing required column "cardId"' })).toBe('line 1: missing required column "cardId"');
  });
});
