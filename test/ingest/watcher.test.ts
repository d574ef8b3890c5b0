import { mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import { submitManifest } from '../../src/batches/submit.js';
import { startWatcher } from '../../src/ingest/watcher.js';
import { createLogger } from '../../src/log.js';
import { startStack, type TestStack } from '../helpers/stack.js';

/** File-drop ingestion: each dropped manifest paid once, whatever is dropped twice or restarts. */

let stack: TestStack;
let root: string;
let n = 0;
beforeAll(async () => {
  stack = await startStack({ providers: ['ctpayer'] });
  await stack.startWorkers();
});
afterAll(() => stack?.close());
beforeEach(() => {
  root = join(stack.dir, `drop-${(n += 1)}`);
});

const watcher = () => startWatcher(stack.context, root, { stableMs: 150, concurrency: 2, leaseMs: 5000, log: createLogger({ level: 'silent' }) });
const manifest = (ids: string[], card = '1000000001') => ['payment_id,cardId,amount,description', ...ids.map((id, i) => `${id},${card},${i + 1}.00,Drop stipend`)].join('\n');

/** Written under a temporary name, then renamed: the way to drop a file so it is taken only whole. */
async function drop(name: string, text: string, folder = join('ctpayer', 'main')) {
  const dir = join(root, 'inbox', folder);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, `.${name}.part`), text);
  await rename(join(dir, `.${name}.part`), join(dir, name));
}

async function until(what: string, check: () => Promise<boolean> | boolean, ms = 20_000) {
  for (const deadline = Date.now() + ms; !(await check()); ) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const filesIn = async (stage: string) => (await readdir(join(root, stage, 'ctpayer', 'main')).catch(() => [] as string[])).sort();
const applied = (prefix: string) => stack.sandboxes.ctpayer!.transactions().filter((t) => t.key?.startsWith(prefix));

it('pays a dropped file once, archives it with its report in outbox/, and sends the same file dropped again to duplicates/', async () => {
  const w = await watcher();
  try {
    await drop('visits.csv', manifest(['d1-a', 'd1-b']));
    await until('the file to be archived', async () => (await filesIn('archive')).length === 1);
    expect((await filesIn('archive'))[0]).toMatch(/-visits\.csv$/);
    const [batchId] = await filesIn('outbox');
    const report = await readFile(join(root, 'outbox', 'ctpayer', 'main', batchId!, 'reconciliation.csv'), 'utf8');
    expect(report.match(/,paid,/g)).toHaveLength(2);

    await drop('visits-again.csv', manifest(['d1-a', 'd1-b']));
    await until('the copy to reach duplicates/', async () => (await filesIn('duplicates')).length === 2);
    const note = await readFile(join(root, 'duplicates', 'ctpayer', 'main', (await filesIn('duplicates')).find((f) => f.endsWith('.duplicate.txt'))!), 'utf8');
    expect(note).toContain(`paid as batch ${batchId}`);
    expect(applied('d1-')).toHaveLength(2);
    expect(await filesIn('processing')).toEqual([]);
  } finally {
    await w.close();
  }
});

it('rejects an invalid file with its problems beside it, paying nothing', async () => {
  const w = await watcher();
  try {
    await drop('bad.csv', 'payment_id,cardId,amount,description\nd2-a,12345,1.00,Drop stipend\nd2-b,1000000001,=1+1,Drop stipend\n');
    await until('the file to be rejected', async () => (await filesIn('rejected')).length === 2);
    const errors = await readFile(join(root, 'rejected', 'ctpayer', 'main', (await filesIn('rejected')).find((f) => f.endsWith('.errors.csv'))!), 'utf8');
    expect(errors.split('\n')[0]).toBe('line,column,problem');
    expect(errors).toMatch(/^2,cardId,must be exactly 10 digits$/m);
    expect(errors).toMatch(/^3,amount,"""=1\+1"" is not an amount in dollars/m);
    expect(applied('d2-')).toEqual([]);
  } finally {
    await w.close();
  }
});

it('takes a file dropped into the provider folder for the provider\'s only account', async () => {
  const w = await watcher();
  try {
    await drop('single.csv', manifest(['d3-a']), 'ctpayer');
    await until('the file to be archived', async () => (await filesIn('archive')).length === 1);
    expect(applied('d3-')).toHaveLength(1);
  } finally {
    await w.close();
  }
});

it('lets only one of two watchers on one folder take a file', async () => {
  const [one, two] = await Promise.all([watcher(), watcher()]);
  try {
    await Promise.all(['a', 'b', 'c'].map((x, i) => drop(`${x}.csv`, manifest([`d4-${x}`], `100000000${i + 2}`))));
    await until('three files archived', async () => (await filesIn('archive')).length === 3);
    expect(applied('d4-')).toHaveLength(3);
    // One batch per file: neither watcher submitted a file the other had taken.
    expect(await filesIn('outbox')).toHaveLength(3);
  } finally {
    await Promise.all([one.close(), two.close()]);
  }
});

it('after a restart, finishes the files a stopped watcher left in processing/ without paying twice', async () => {
  // One file was claimed and already queued as a batch; one was claimed and not yet submitted.
  const processing = join(root, 'processing', 'ctpayer', 'main');
  await mkdir(processing, { recursive: true });
  await writeFile(join(processing, '20261121-000000000-queued.csv'), manifest(['d5-a', 'd5-b'], '1000000005'));
  await writeFile(join(processing, '20261121-000000000-claimed.csv'), manifest(['d5-c'], '1000000006'));
  const queued = await submitManifest(stack.context, { file: join(processing, '20261121-000000000-queued.csv'), account: stack.account('ctpayer') });
  if (!queued.accepted) throw new Error('refused');

  const w = await watcher();
  try {
    await until('both files archived', async () => (await filesIn('archive')).length === 2);
    expect(applied('d5-').map((t) => t.key).sort()).toEqual(['d5-a', 'd5-b', 'd5-c']);
    expect(await filesIn('outbox')).toContain(queued.batchId);
    expect(await filesIn('outbox')).toHaveLength(2);
    expect(await filesIn('duplicates')).toEqual([]);
  } finally {
    await w.close();
  }
});
