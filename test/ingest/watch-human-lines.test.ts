import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { watchLines } from '../../src/commands/watch-lines.js';
import { startStack, type TestStack } from '../helpers/stack.js';

/**
 * `stipend watch` as an operator runs it, stdout piped: a line for people on stdout for each thing
 * that happens to a file, and, while one is under way, where it stands every interval; the JSON
 * log stays on stderr, every line of it JSON.
 */

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

let stack: TestStack;
let watch: ChildProcess | undefined;
let stdout = '';
let stderr = '';
beforeAll(async () => {
  stack = await startStack({ providers: ['ctpayer'] });
});
afterAll(async () => {
  if (watch?.exitCode === null) {
    watch.kill('SIGKILL');
    await once(watch, 'exit');
  }
  await stack?.close();
});

/** Written under a temporary name, then renamed, as people are told to drop files. */
async function drop(root: string, folder: string, name: string, text: string) {
  const dir = join(root, 'inbox', folder);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, `.${name}.part`), text);
  await rename(join(dir, `.${name}.part`), join(dir, name));
}

/** The first stdout line matching `pattern`, once it is there. */
async function line(pattern: RegExp): Promise<RegExpMatchArray> {
  for (const deadline = Date.now() + 30_000; ; ) {
    for (const text of stdout.split('\n')) {
      const match = pattern.exec(text);
      if (match) return match;
    }
    if (Date.now() > deadline) throw new Error(`no line ${pattern} in:\n${stdout}\nstderr:\n${stderr}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

it('says what became of each dropped file on stdout, beside its JSON log on stderr', async () => {
  const root = join(stack.dir, 'drop');
  watch = spawn(process.execPath, ['--import', 'tsx', 'jobs/main.ts', '--config', stack.configFile, 'watch', root, '--stable-ms', '100'], {
    cwd: ROOT,
    env: { ...process.env, STIPEND_PROGRESS_EVERY_MS: '100' },
  });
  watch.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  watch.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  await line(/^watching .*inbox\/<provider>\/<account>\/ for manifests/);

  const paid = 'payment_id,cardId,amount,description\nh-1,1000000001,1000.00,Visit 1\nh-2,1000000001,234.00,Visit 2\n';
  await drop(root, join('ctpayer', 'main'), 'jan.csv', paid);
  const [, batchId] = await line(/^inbox\/ctpayer\/main\/jan\.csv: batch (\S+) queued: 2 payments \(\$1,234\.00\)$/);
  // No worker yet: the batch waits, and says so every interval.
  await line(/^inbox\/ctpayer\/main\/jan\.csv: paying: 0 of 2 final \(0%\)…$/);
  await stack.startWorkers();
  await line(new RegExp(`^inbox/ctpayer/main/jan\\.csv: paid: 2 paid \\(\\$1,234\\.00\\); archived as archive/ctpayer/main/\\S+-jan\\.csv, report outbox/ctpayer/main/${batchId}/reconciliation\\.csv$`));

  await drop(root, join('ctpayer', 'main'), 'again.csv', paid);
  await line(new RegExp(`^inbox/ctpayer/main/again\\.csv: duplicate of batch ${batchId}: moved to duplicates/ \\(duplicates/ctpayer/main/\\S+-again\\.csv\\.duplicate\\.txt\\); nothing was paid again$`));

  await drop(root, join('ctpayer', 'main'), 'bad.csv', 'payment_id,cardId,amount,description\nh-3,12345,1.00,Visit 3\nh-4,1000000001,=1+1,Visit 4\n');
  await line(/^inbox\/ctpayer\/main\/bad\.csv: rejected: 2 row problems; moved to rejected\/, its problems in rejected\/ctpayer\/main\/\S+-bad\.csv\.errors\.csv; nothing was paid$/);

  await drop(root, '', 'stray.csv', paid);
  await line(/^inbox\/stray\.csv: not in inbox\/<provider>\/ or inbox\/<provider>\/<account>\/; left where it is$/);

  watch.kill('SIGINT');
  const [code] = await once(watch, 'exit');
  expect(code).toBe(0);
  // Programs read the log as before: stderr is JSON lines only, and none of them is on stdout.
  const logLines = stderr.split('\n').filter(Boolean);
  expect(logLines.map((text) => JSON.parse(text) as { msg: string }).map((entry) => entry.msg)).toEqual(
    expect.arrayContaining(['dropped file queued; waiting for its payments', 'dropped file paid: archived, report in outbox/', 'dropped file rejected: moved to rejected/ with its errors']),
  );
  expect(stdout.split('\n').filter((text) => text.startsWith('{'))).toEqual([]);
});

it('says why a file is tried again, and when', () => {
  const written: string[] = [];
  const lines = watchLines('/drop', (text) => written.push(text));
  lines.onFile('inbox/ctpayer/main/feb.csv', { kind: 'failed', error: new Error('Redis is not reachable'), retryInMs: 4000 });
  lines.stop();
  expect(written).toEqual(['inbox/ctpayer/main/feb.csv: could not be processed (Redis is not reachable); trying again in 4s']);
});
