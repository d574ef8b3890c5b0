import { execFileSync } from 'node:child_process';
import { chmod, lstat, mkdir, readdir, readFile, rename, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import { runScheduledIngest } from '../../src/ingest/schedules.js';
import { startWatcher } from '../../src/ingest/watcher.js';
import { openListed } from '../../src/ingest/regular-file.js';
import { createLogger } from '../../src/log.js';
import { startStack, type TestStack } from '../helpers/stack.js';

/**
 * What is not a plain file dropped into the inbox (a symbolic link, a FIFO, a folder named *.csv) is
 * moved to rejected/ with one line saying why, never read, never paid; the watcher goes on with the
 * next file. The errors files say no more of a bad file than the cell at fault, and are readable by
 * no more people than the folder and the file they describe.
 */

let stack: TestStack;
let root: string;
let n = 0;
const SECRET = 'SECRET-7f3a9c-42';
beforeAll(async () => {
  stack = await startStack({ providers: ['ctpayer'] });
  await stack.startWorkers();
});
afterAll(() => stack?.close());
beforeEach(() => {
  root = join(stack.dir, `odd-${(n += 1)}`);
});

const log = createLogger({ level: 'silent' });
const watcher = (concurrency = 2) => startWatcher(stack.context, root, { stableMs: 150, concurrency, leaseMs: 5000, log });
const manifest = (id: string, card = '1000000001') => `payment_id,cardId,amount,description\n${id},${card},1.00,Odd stipend\n`;
const inbox = () => join(root, 'inbox', 'ctpayer', 'main');
const rejected = () => join(root, 'rejected', 'ctpayer', 'main');

async function drop(name: string, text: string, mode = 0o644) {
  await mkdir(inbox(), { recursive: true });
  await writeFile(join(inbox(), `.${name}.part`), text, { mode });
  await chmod(join(inbox(), `.${name}.part`), mode);
  await rename(join(inbox(), `.${name}.part`), join(inbox(), name));
}

async function until(what: string, check: () => Promise<boolean> | boolean, ms = 20_000) {
  for (const deadline = Date.now() + ms; !(await check()); ) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const filesIn = async (dir: string) => (await readdir(dir).catch(() => [] as string[])).sort();
const applied = (prefix: string) => stack.sandboxes.ctpayer!.transactions().filter((t) => t.key?.startsWith(prefix));

/** The one-line reason in the errors file beside a rejected entry whose name ends with `name`. */
async function reasonFor(name: string): Promise<string> {
  const errors = (await filesIn(rejected())).find((f) => f.endsWith(`${name}.errors.csv`));
  if (errors === undefined) throw new Error(`no errors file for ${name}`);
  return readFile(join(rejected(), errors), 'utf8');
}

/** Every regular file under `dir` (links not followed), with its text. */
async function regularFilesUnder(dir: string): Promise<{ path: string; text: string }[]> {
  const found: { path: string; text: string }[] = [];
  for (const name of await readdir(dir)) {
    const path = join(dir, name);
    const s = await lstat(path);
    if (s.isDirectory()) found.push(...(await regularFilesUnder(path)));
    else if (s.isFile()) found.push({ path, text: await readFile(path, 'latin1') });
  }
  return found;
}

/** Every value this test's Redis keys hold (the ledger's and BullMQ's), as text. */
async function redisValues(): Promise<string> {
  const { redis } = stack.context;
  const values: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${stack.prefix}:*`, 'COUNT', 1000);
    cursor = next;
    for (const key of keys) {
      const type = await redis.type(key);
      values.push(key);
      if (type === 'string') values.push((await redis.get(key)) ?? '');
      else if (type === 'hash') values.push(JSON.stringify(await redis.hgetall(key)));
      else if (type === 'list') values.push(...(await redis.lrange(key, 0, -1)));
      else if (type === 'set') values.push(...(await redis.smembers(key)));
      else if (type === 'zset') values.push(...(await redis.zrange(key, 0, '-1')));
      else if (type === 'stream') values.push(JSON.stringify(await redis.xrange(key, '-', '+')));
    }
  } while (cursor !== '0');
  return values.join('\n');
}

it('moves a symbolic link to a file outside the folder to rejected/ with a reason, unread: its text is in no file and no Redis key', async () => {
  const outside = join(stack.dir, 'outside-secret.txt');
  await writeFile(outside, `${SECRET}\n`, { mode: 0o600 });
  await mkdir(inbox(), { recursive: true });
  const w = await watcher();
  try {
    await symlink(outside, join(inbox(), 'passwd.csv'));
    await until('the link to be rejected', async () => (await filesIn(rejected())).length === 2);
    expect(await reasonFor('passwd.csv')).toBe('line,column,problem\n0,,"a symbolic link, not a regular file: not read"\n');
    // The link itself was moved, not what it points to.
    const moved = (await filesIn(rejected())).find((f) => f.endsWith('passwd.csv'))!;
    expect((await lstat(join(rejected(), moved))).isSymbolicLink()).toBe(true);
    expect(await readFile(outside, 'utf8')).toBe(`${SECRET}\n`);
    for (const file of await regularFilesUnder(root)) expect(file.text, file.path).not.toContain(SECRET);
    expect(await redisValues()).not.toContain(SECRET);
  } finally {
    await w.close();
  }
});

it('does not pay a manifest reached through a symbolic link', async () => {
  const elsewhere = join(stack.dir, 'not-yours.csv');
  await writeFile(elsewhere, manifest('odd2-a'), { mode: 0o600 });
  await mkdir(inbox(), { recursive: true });
  await symlink(elsewhere, join(inbox(), 'linked.csv'));
  const w = await watcher();
  try {
    await until('the link to be rejected', async () => (await filesIn(rejected())).length === 2);
    expect(await reasonFor('linked.csv')).toContain('a symbolic link, not a regular file: not read');
    expect(applied('odd2-')).toEqual([]);
    expect(await filesIn(join(root, 'outbox', 'ctpayer', 'main'))).toEqual([]);
  } finally {
    await w.close();
  }
});

it('rejects a FIFO named x.csv without opening it for a blocking read, and goes on to pay the next file', async () => {
  await mkdir(inbox(), { recursive: true });
  // One file at a time: a watcher stuck on the FIFO would never take the next one.
  const w = await watcher(1);
  try {
    execFileSync('mkfifo', [join(inbox(), 'x.csv')]);
    await until('the FIFO to be rejected', async () => (await filesIn(rejected())).some((f) => f.endsWith('x.csv.errors.csv')));
    expect(await reasonFor('x.csv')).toContain('a named pipe (FIFO), not a regular file: not read');
    await drop('after.csv', manifest('odd3-a', '1000000003'));
    await until('the next file to be archived', async () => (await filesIn(join(root, 'archive', 'ctpayer', 'main'))).length === 1);
    expect(applied('odd3-')).toHaveLength(1);
  } finally {
    await w.close();
  }
});

it('rejects a folder named y.csv', async () => {
  await mkdir(join(inbox(), 'y.csv'), { recursive: true });
  const w = await watcher();
  try {
    await until('the folder to be rejected', async () => (await filesIn(rejected())).length === 2);
    expect(await reasonFor('y.csv')).toContain('a folder, not a regular file: not read');
    expect(await filesIn(inbox())).toEqual([]);
  } finally {
    await w.close();
  }
});

it('writes an errors file no more readable than its folder and its file, quoting no line of a file that is not CSV', async () => {
  await mkdir(rejected(), { recursive: true });
  await chmod(rejected(), 0o750);
  const w = await watcher();
  try {
    // Readable by everyone, in a folder that is not: the errors file is not readable by everyone.
    await drop('bad.csv', 'payment_id,cardId,amount,description\nodd5-a,12345,1.00,Odd\n', 0o644);
    await until('bad.csv to be rejected', async () => (await filesIn(rejected())).length === 2);
    expect((await stat(join(rejected(), (await filesIn(rejected())).find((f) => f.endsWith('bad.csv.errors.csv'))!))).mode & 0o777).toBe(0o640);

    // A file only its owner may read, its one line not CSV: neither its line nor a wider errors file.
    await chmod(rejected(), 0o755);
    await drop('notes.csv', `${SECRET}\n`, 0o600);
    await until('notes.csv to be rejected', async () => (await filesIn(rejected())).length === 4);
    const errors = join(rejected(), (await filesIn(rejected())).find((f) => f.endsWith('notes.csv.errors.csv'))!);
    expect((await stat(errors)).mode & 0o777).toBe(0o600);
    expect(await readFile(errors, 'utf8')).not.toContain(SECRET);
    expect(await readFile(errors, 'utf8')).toContain('no column names separated by commas');
    // The copy that was read keeps the file's own mode.
    expect((await stat(join(rejected(), (await filesIn(rejected())).find((f) => f.endsWith('notes.csv'))!))).mode & 0o777).toBe(0o600);
  } finally {
    await w.close();
  }
});

it('pays a copy of the dropped file made through the handle it checked, no more readable than the file', async () => {
  const w = await watcher();
  try {
    await drop('private.csv', manifest('odd6-a', '1000000006'), 0o600);
    await until('the file to be archived', async () => (await filesIn(join(root, 'archive', 'ctpayer', 'main'))).length === 1);
    const [archived] = await filesIn(join(root, 'archive', 'ctpayer', 'main'));
    expect((await stat(join(root, 'archive', 'ctpayer', 'main', archived!))).mode & 0o777).toBe(0o600);
    expect(applied('odd6-')).toHaveLength(1);
  } finally {
    await w.close();
  }
});

it('takes a scheduled run\'s files through the same check: a link is rejected unread, a folder replaced by a link is not listed', async () => {
  const outside = join(stack.dir, 'outside-for-schedule.txt');
  await writeFile(outside, `${SECRET}\n`);
  const elsewhere = join(stack.dir, 'someone-elses-folder');
  await mkdir(elsewhere, { recursive: true });
  await writeFile(join(elsewhere, 'theirs.csv'), manifest('odd7-b', '1000000007'));
  await mkdir(inbox(), { recursive: true });
  await symlink(outside, join(inbox(), 'linked.csv'));
  // The provider folder, for its only account: a link to a folder the dropper cannot read.
  await mkdir(join(root, 'inbox', 'ctpayer'), { recursive: true });
  const signal = new AbortController().signal;
  const run = { dir: root, provider: 'ctpayer', account: 'main' };

  expect(await runScheduledIngest(stack.context, run, { leaseMs: 5000, signal, log })).toBe(1);
  expect(await reasonFor('linked.csv')).toContain('a symbolic link, not a regular file: not read');
  for (const file of await regularFilesUnder(root)) expect(file.text, file.path).not.toContain(SECRET);

  await rename(inbox(), `${inbox()}-was`);
  await symlink(elsewhere, inbox());
  expect(await runScheduledIngest(stack.context, run, { leaseMs: 5000, signal, log })).toBe(0);
  expect(await filesIn(elsewhere)).toEqual(['theirs.csv']);
  expect(applied('odd7-')).toEqual([]);
});

it('does not read a file that is not the one listed (replaced between lstat and open)', async () => {
  const listedFile = join(stack.dir, 'listed.csv');
  const other = join(stack.dir, 'other.csv');
  await writeFile(listedFile, manifest('odd8-a'));
  await writeFile(other, manifest('odd8-b'));
  const listed = await lstat(listedFile, { bigint: true });
  expect(await openListed(other, listed)).toEqual({ refused: 'replaced by another file between listing and opening: not read' });
  const link = join(stack.dir, 'listed-link.csv');
  await symlink(listedFile, link);
  // A link put where a file was listed is not followed.
  expect(await openListed(link, listed)).toEqual({ refused: 'replaced by another file between listing and opening: not read' });
  const opened = await openListed(listedFile, listed);
  if ('refused' in opened) throw new Error(opened.refused);
  await opened.close();
});
