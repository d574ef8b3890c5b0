import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { openContext } from '../../src/context.js';
import { addSchedule, listSchedules, removeSchedule } from '../../src/ingest/schedules.js';
import { startStack, type TestStack } from '../helpers/stack.js';

/** Scheduled runs live in Redis as BullMQ job schedulers; any worker runs them. */

let stack: TestStack;
beforeAll(async () => {
  stack = await startStack({ providers: ['ctpayer'] });
});
afterAll(() => stack?.close());

it('keeps exactly one schedule when several processes add it at once, and removes it', async () => {
  const contexts = await Promise.all([0, 1, 2, 3].map(() => openContext(stack.config)));
  try {
    await Promise.all(contexts.map((context) => addSchedule(context, 'nightly', { cron: '0 6 * * *', dir: stack.dir, provider: 'ctpayer' })));
    const schedules = await listSchedules(stack.context);
    expect(schedules).toEqual([{ name: 'nightly', pattern: '0 6 * * *', next: expect.any(Number), run: { dir: stack.dir, provider: 'ctpayer', account: 'main' } }]);
    await removeSchedule(stack.context, 'nightly');
    expect(await listSchedules(stack.context)).toEqual([]);
    await expect(removeSchedule(stack.context, 'nightly')).rejects.toThrow('no schedule named "nightly"');
    await expect(addSchedule(stack.context, 'bad', { cron: 'every tuesday', dir: stack.dir, provider: 'ctpayer' })).rejects.toThrow(/--cron "every tuesday" is not a cron pattern/);
    await expect(addSchedule(stack.context, 'bad', { cron: '* * * * *', dir: stack.dir, provider: 'virtualrx' })).rejects.toThrow(/no virtualrx account is configured/);
  } finally {
    await Promise.all(contexts.map((context) => context.close()));
  }
});

it('fires on its pattern and pays what waits in its folder, as the watcher would', async () => {
  const dir = join(stack.dir, 'scheduled');
  const inbox = join(dir, 'inbox', 'ctpayer', 'main');
  await mkdir(inbox, { recursive: true });
  await writeFile(join(inbox, 'visits.csv'), 'payment_id,cardId,amount,description\nsch-1,1000000004,9.00,Visit stipend\nsch-2,1000000005,8.00,Visit stipend\n');
  await stack.startWorkers();
  await addSchedule(stack.context, 'every-second', { cron: '* * * * * *', dir, provider: 'ctpayer' });
  try {
    const archived = join(dir, 'archive', 'ctpayer', 'main');
    for (const deadline = Date.now() + 20_000; (await readdir(archived).catch(() => [])).length === 0; ) {
      if (Date.now() > deadline) throw new Error('the scheduled run never archived the file');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    // Later runs find nothing new; the payments were made once.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(stack.sandboxes.ctpayer!.transactions().filter((t) => t.key?.startsWith('sch-')).map((t) => t.key).sort()).toEqual(['sch-1', 'sch-2']);
    expect(await readdir(join(dir, 'outbox', 'ctpayer', 'main'))).toHaveLength(1);
  } finally {
    await removeSchedule(stack.context, 'every-second');
  }
});
