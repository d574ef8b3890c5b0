import { existsSync } from 'node:fs';
import { mkdir, readdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import pLimit from 'p-limit';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startWorkers } from '../../jobs/workers.js';
import { submitManifest } from '../../src/batches/submit.js';
import { reportCommand } from '../../src/commands/batch.js';
import { cardsAssignCommand } from '../../src/commands/cards.js';
import { demoCommand } from '../../src/commands/demo.js';
import { exportCommand, taxExportCommand } from '../../src/commands/export.js';
import { retryCommand } from '../../src/commands/settle.js';
import { resolveConfig } from '../../src/config/load.js';
import { ConfigError, UsageError } from '../../src/errors.js';
import { DropFolder } from '../../src/ingest/drop-folder.js';
import { addSchedule, removeSchedule } from '../../src/ingest/schedules.js';
import { PathOutsideError } from '../../src/join-inside.js';
import { writeReconciliation } from '../../src/reports/reconciliation.js';
import { startStack, type TestStack } from '../helpers/stack.js';
import { stipend } from '../helpers/stipend-process.js';

/**
 * Batch ids, account names and --out never make a path outside the folders they are meant for, and
 * nothing is written into a folder whose files are paid: each is refused in one line (exit 2)
 * before anything is written or sent.
 */

let stack: TestStack;
beforeAll(async () => {
  stack = await startStack({ providers: ['ctpayer'] });
});
afterAll(() => stack?.close());

/** Every file and folder under `dir`, as paths below it. */
async function everythingUnder(dir: string): Promise<string[]> {
  return (await readdir(dir, { recursive: true }).catch(() => [] as string[])).sort();
}

it('refuses a batch id or an account name that could name a path, in one line (exit 2), touching nothing', async () => {
  const out = join(stack.dir, 'report-out');
  const badConfig = join(stack.dir, 'dotted-account.json');
  await writeFile(badConfig, JSON.stringify({ redis: { prefix: stack.prefix }, accounts: { ctpayer: { '../x': { baseUrl: 'http://127.0.0.1:1', credentials: {} } } } }));
  const cases = [
    { args: ['--config', stack.configFile, 'report', '../../etc', '--out', out], message: /^stipend: "\.\.\/\.\.\/etc" is not a batch id: batch ids are letters, digits, - and _/ },
    { args: ['--config', stack.configFile, 'status', '/etc/passwd'], message: /^stipend: "\/etc\/passwd" is not a batch id/ },
    { args: ['--config', stack.configFile, 'retry', '..', '--out', out], message: /^stipend: "\.\." is not a batch id/ },
    { args: ['--config', badConfig, 'status', '20261121-101500-a1b2c3'], message: /^stipend: .*dotted-account\.json: accounts\.ctpayer: "\.\.\/x": account names are 1-40 letters, digits, - or _/ },
  ];
  // A process each, a second or more of CPU to start: two at a time on a 2-core machine.
  const limit = pLimit(2);
  const results = await Promise.all(cases.map((c) => limit(() => stipend(c.args))));
  for (const [i, c] of cases.entries()) {
    const result = results[i]!;
    expect(result.code, c.args.join(' ')).toBe(2);
    expect(result.stderr, c.args.join(' ')).toMatch(c.message);
    expect(result.stderr.trim().split('\n'), c.args.join(' ')).toHaveLength(1);
  }
  expect(existsSync(out)).toBe(false);
  expect(existsSync(join(stack.dir, 'etc'))).toBe(false);
});

it('names an account name it refuses at load under its key, escaped, with the rule', () => {
  for (const name of ['../x', 'a/b', 'x\u0000y', '.', '/abs']) {
    const load = () => resolveConfig({ accounts: { ctpayer: { [name]: { baseUrl: 'http://127.0.0.1:1', credentials: {} } } } }, 'cfg.json');
    expect(load).toThrow(ConfigError);
    expect(load).toThrow(`cfg.json: accounts.ctpayer: ${JSON.stringify(name)}: account names are 1-40 letters, digits, - or _ (each names a folder: inbox/<provider>/<account>/)`);
  }
});

it('never builds a path outside its folder from a batch id the ledger holds or a dropped file\'s name', async () => {
  // A batch recorded under a hostile id (by hand in Redis, or an older version): its report is refused.
  await stack.context.batches.create({ batchId: '../escape', provider: 'ctpayer', account: 'main', source: 'x.csv', sha256: 'x', rowsTotal: 0 });
  const out = join(stack.dir, 'reports-a', 'inner');
  await expect(writeReconciliation(stack.context, '../escape', out)).rejects.toThrow(PathOutsideError);
  expect(await everythingUnder(join(stack.dir, 'reports-a'))).toEqual([]);

  const folder = new DropFolder(join(stack.dir, 'drop-paths'), stack.config);
  for (const name of ['../../x.csv', '/etc/x.csv', 'ctpayer/main/\u0000.csv', '.']) expect(() => folder.path('archive', name), name).toThrow(PathOutsideError);
  expect(folder.path('archive', 'ctpayer/main/20261121-jan.csv')).toBe(join(stack.dir, 'drop-paths', 'archive', 'ctpayer', 'main', '20261121-jan.csv'));
});

it('refuses --out into a drop folder\'s inbox or a schedule\'s, in one line (exit 2), writing and paying nothing', async () => {
  const root = join(stack.dir, 'drop');
  const inbox = join(root, 'inbox', 'ctpayer', 'main');
  await mkdir(inbox, { recursive: true });
  const manifest = (id: string, card: string) => stack.manifest(`${id}.csv`, `payment_id,cardId,amount,description\n${id},${card},1.00,Hostile out\n`);
  const refused = /cannot write into .*: it is in .*drop\/inbox, whose files a watcher or a scheduled run pays as manifests; nothing was written/i;

  const ran = await stipend(['--config', stack.configFile, 'run', await manifest('hn-1', '1000000001'), '--provider', 'ctpayer', '--out', inbox, '--max-wait', '2s']);
  expect(ran.code).toBe(2);
  expect(ran.stderr).toMatch(refused);
  expect(ran.stderr.trim().split('\n')).toHaveLength(1);
  expect(stack.sandboxes.ctpayer!.transactions().filter((t) => t.key?.startsWith('hn-'))).toEqual([]);

  // A batch to write reports of (queued, not paid: nothing here runs a worker).
  const queued = await submitManifest(stack.context, { file: await manifest('hn-2', '1000000002'), account: stack.account('ctpayer') });
  if (!queued.accepted) throw new Error('refused');
  const config = stack.configFile;
  const commands: [string, () => Promise<number>][] = [
    ['report', () => reportCommand(queued.batchId, { out: inbox, config })],
    ['retry', () => retryCommand(queued.batchId, { out: inbox, config }, { startWorkers })],
    ['export', () => exportCommand({ from: '2026-01-01', to: '2026-12-31', out: join(inbox, 'export.csv'), config })],
    ['export tax', () => taxExportCommand({ year: '2026', out: join(inbox, 'tax.csv'), config })],
    ['cards assign', () => cardsAssignCommand(join(stack.dir, 'cards.csv'), { out: join(inbox, 'cards.csv'), config })],
    ['demo', () => demoCommand({ out: join(root, 'INBOX', 'demo') }, { startWorkers })],
  ];
  for (const [name, command] of commands) await expect(command(), name).rejects.toThrow(refused);
  await expect(reportCommand(queued.batchId, { out: inbox, config })).rejects.toThrow(UsageError);
  expect(await everythingUnder(join(root, 'inbox'))).toEqual(['ctpayer', join('ctpayer', 'main')]);
  expect(existsSync(join(root, 'INBOX'))).toBe(false);

  // A schedule's inbox may be a link to a folder named anything: found through the schedule.
  const incoming = join(stack.dir, 'incoming');
  const scheduled = join(stack.dir, 'scheduled');
  await mkdir(join(incoming, 'ctpayer', 'main'), { recursive: true });
  await mkdir(scheduled, { recursive: true });
  await symlink(incoming, join(scheduled, 'inbox'));
  await addSchedule(stack.context, 'hostile-out', { cron: '0 6 * * *', dir: scheduled, provider: 'ctpayer' });
  try {
    await expect(reportCommand(queued.batchId, { out: join(incoming, 'ctpayer', 'main'), config })).rejects.toThrow(/cannot write into .*: it is in .*scheduled\/inbox, whose files/);
  } finally {
    await removeSchedule(stack.context, 'hostile-out');
  }
  expect(await everythingUnder(incoming)).toEqual(['ctpayer', join('ctpayer', 'main')]);
  // Beside the inbox, where reports belong, is fine.
  expect(await reportCommand(queued.batchId, { out: join(root, 'outbox'), config })).toBe(0);
});
