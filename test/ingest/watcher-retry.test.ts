import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startWatcher } from '../../src/ingest/watcher.js';
import { createLogger } from '../../src/log.js';
import { startStack, type TestStack } from '../helpers/stack.js';

/**
 * Path 6 of "never twice, never lost", the watcher's side: a dropped file whose ingest failed is
 * taken again with backoff, not left in processing/ until the watcher restarts; and the retry pays
 * nothing twice nor mistakes the batch its first attempt made for an earlier duplicate.
 */

let stack: TestStack;
beforeAll(async () => {
  stack = await startStack({ providers: ['ctpayer'] });
  await stack.startWorkers();
});
afterAll(() => stack?.close());

async function until(what: string, check: () => Promise<boolean> | boolean, ms = 20_000) {
  for (const deadline = Date.now() + ms; !(await check()); ) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

it('retries a dropped file whose ingest failed, with backoff, until it is paid once and archived', async () => {
  const root = join(stack.dir, 'drop');
  const logs: Record<string, unknown>[] = [];
  const log = createLogger({ level: 'warn', destination: { write: (line: string) => void logs.push(JSON.parse(line) as Record<string, unknown>) } });
  // The report cannot be written: a file stands where the account's outbox folder goes (a disk
  // problem an operator fixes while the watcher runs).
  await mkdir(join(root, 'outbox', 'ctpayer'), { recursive: true });
  await writeFile(join(root, 'outbox', 'ctpayer', 'main'), 'in the way');
  const watcher = await startWatcher(stack.context, root, { stableMs: 100, concurrency: 2, leaseMs: 5000, log, retry: { firstMs: 100, maxMs: 400 } });
  try {
    const inbox = join(root, 'inbox', 'ctpayer', 'main');
    await writeFile(join(inbox, '.visits.csv.part'), 'payment_id,cardId,amount,description\nwr-a,1000000001,4.00,Visit stipend\nwr-b,1000000002,6.50,Visit stipend\n');
    await rename(join(inbox, '.visits.csv.part'), join(inbox, 'visits.csv'));

    const failures = () => logs.filter((l) => l.msg === 'a dropped file could not be processed; it is tried again' && l.level === 50);
    await until('two failed attempts', () => failures().length >= 2);
    expect(failures()[1]).toMatchObject({ attempt: 2, retryInMs: 200 });
    await rm(join(root, 'outbox', 'ctpayer', 'main'));

    await until('the file to be archived', async () => (await readdir(join(root, 'archive', 'ctpayer', 'main')).catch(() => [])).length === 1);
    const [batchId] = await readdir(join(root, 'outbox', 'ctpayer', 'main'));
    const report = await readFile(join(root, 'outbox', 'ctpayer', 'main', batchId!, 'reconciliation.csv'), 'utf8');
    expect(report.match(/,paid,/g)).toHaveLength(2);
    const applied = stack.sandboxes.ctpayer!.transactions().filter((t) => t.key?.startsWith('wr-'));
    expect(applied.map((t) => [t.key, t.amountCents]).sort()).toEqual([['wr-a', 400], ['wr-b', 650]]);
    expect(await readdir(join(root, 'duplicates')).catch(() => [])).toEqual([]);
    expect(await readdir(join(root, 'processing', 'ctpayer', 'main'))).toEqual([]);
  } finally {
    await watcher.close();
  }
});
