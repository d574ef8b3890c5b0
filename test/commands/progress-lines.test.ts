import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { payingLine, submitLine } from '../../src/commands/progress-lines.js';
import type { BatchRecord } from '../../src/ledger/batches.js';
import { startStack, type TestStack } from '../helpers/stack.js';
import { stipend } from '../helpers/stipend-process.js';

/**
 * Long work says where it stands in plain lines where no progress bar is seen: the commands run with
 * stdout piped (not a terminal), the interval made short. Whether a line appears, never when.
 */

let stack: TestStack;
beforeAll(async () => {
  stack = await startStack({ providers: ['ctpayer'] });
});
afterAll(() => stack?.close());

const EVERY_100_MS = { STIPEND_PROGRESS_EVERY_MS: '100' };

async function bigManifest(name: string, rows: number, id: string): Promise<string> {
  const path = join(stack.dir, name);
  const out = createWriteStream(path);
  out.write('payment_id,cardId,amount,description\n');
  for (let i = 0; i < rows; i += 1) {
    if (!out.write(`${id}-${i},${1000000001 + (i % 20)},1.00,Visit ${i} stipend\n`)) await new Promise<void>((done) => out.once('drain', () => done()));
  }
  await new Promise<void>((done) => out.end(() => done()));
  return path;
}

const linesOf = (text: string, pattern: RegExp) => text.split('\n').filter((line) => pattern.test(line));

it('validate prints how far its scan got on a piped stdout, and on stderr with --json', async () => {
  // About 10 MB: a scan long enough for several 100 ms intervals on a fast machine.
  const path = await bigManifest('big.csv', 200_000, 'V');
  const read = /^validating: [\d,]+ rows read \([\d,]+\.\d MB of 9\.\d MB\)…$/;

  const plain = await stipend(['validate', path, '--provider', 'ctpayer'], { env: EVERY_100_MS });
  expect(plain.code).toBe(0);
  expect(linesOf(plain.stdout, read).length).toBeGreaterThan(0);
  expect(plain.stdout).toMatch(/\nvalid: 200,000 rows: 200,000 valid \(\$200,000\.00\), 0 with problems\n$/);

  const json = await stipend(['validate', path, '--provider', 'ctpayer', '--json'], { env: EVERY_100_MS });
  expect(JSON.parse(json.stdout)).toMatchObject({ valid: true, dataRows: 200_000 });
  expect(linesOf(json.stderr, read).length).toBeGreaterThan(0);
});

it('run prints how far the queuing got, then how far the paying got while it waits', async () => {
  const path = await bigManifest('queue.csv', 30_000, 'R');
  // No worker: the wait lasts until --max-wait, every payment still queued.
  const run = await stipend(['--config', stack.configFile, 'run', path, '--provider', 'ctpayer', '--max-wait', '2s'], { env: EVERY_100_MS, deadlineMs: 120_000 });
  expect(run.code).toBe(4);
  expect(linesOf(run.stdout, /^queuing: [\d,]+ of 30,000 rows…$/).length).toBeGreaterThan(0);
  expect(linesOf(run.stdout, /^paying: 0 of 30,000 final \(0%\)…$/).length).toBeGreaterThan(0);
  // Lines about the work stop with it: none after the last word.
  expect(run.stdout.trimEnd().split('\n').at(-1)).toMatch(/^stopped waiting after 2s \(--max-wait\)/);
});

it('words each stage for people: grouped counts, megabytes, a percentage that is 100 only when all is final', () => {
  expect(submitLine({ stage: 'validating', rows: 1234, bytes: 12_345_678, totalBytes: 1_234_567_890 })).toBe('validating: 1,234 rows read (12.3 MB of 1,234.6 MB)…');
  expect(submitLine({ stage: 'checking', rows: 1, totalRows: 1 })).toBe("checking the provider's other accounts: 1 of 1 row…");
  expect(submitLine({ stage: 'funding' })).toBe('checking the funding balance…');
  expect(submitLine({ stage: 'queuing', rows: 1500, totalRows: 20_000 })).toBe('queuing: 1,500 of 20,000 rows…');
  const batch = { accepted: 20_000, final: 19_999, n_paid: 19_990, n_failed: 9, n_declined: 0, n_unknown: 0 } as BatchRecord;
  expect(payingLine(batch)).toBe('paying: 19,999 of 20,000 final (99%): 19,990 paid, 9 failed…');
});
