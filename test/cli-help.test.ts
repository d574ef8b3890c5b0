import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * `stipend --help` answers at once because commands are loaded only when they run: the help (and a
 * mistyped flag) must not load BullMQ, ioredis, the providers, the sandboxes or the worker side (jobs/).
 */

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const HOOK = join(ROOT, 'test/helpers/record-imports.mjs');
let dir: string;
beforeAll(async () => (dir = await mkdtemp(join(tmpdir(), 'stipend-help-'))));
afterAll(() => rm(dir, { recursive: true, force: true }));

async function modulesLoadedBy(args: string[], name: string): Promise<string[]> {
  const record = join(dir, `${name}.txt`);
  await promisify(execFile)(process.execPath, ['--import', HOOK, '--import', 'tsx', 'jobs/main.ts', ...args], {
    cwd: ROOT,
    env: { ...process.env, RECORD_IMPORTS: record },
  }).catch((error: { code?: number }) => {
    if (error.code !== 2) throw error;
  });
  return (await readFile(record, 'utf8')).split('\n').filter(Boolean);
}

const HEAVY = /node_modules\/(bullmq|ioredis|undici|express|pino|chokidar|prom-client|@bull-board|csv-parse)\/|\/src\/(providers|sandbox|queue|sending|ledger|manifest|reports|batches)|\/jobs\/(?!main\.ts)/;

describe('stipend --help', () => {
  it('loads no command module, queue, Redis client or provider', async () => {
    const loaded = await modulesLoadedBy(['--help'], 'help');
    expect(loaded.some((url) => url.endsWith('/jobs/main.ts'))).toBe(true);
    expect(loaded.some((url) => url.endsWith('/src/cli.ts'))).toBe(true);
    expect(loaded.filter((url) => HEAVY.test(url))).toEqual([]);
  });

  it('a command\'s own --help and a mistyped flag load none either', async () => {
    for (const [name, args] of [['run-help', ['run', '--help']], ['bogus', ['run', 'x.csv', '--provider', 'ctpayer', '--bogus']]] as const) {
      const loaded = await modulesLoadedBy([...args], name);
      expect(loaded.filter((url) => HEAVY.test(url)), name).toEqual([]);
    }
  });

  it('a command that runs loads its module then', async () => {
    const loaded = await modulesLoadedBy(['validate', join(dir, 'missing.csv'), '--provider', 'ctpayer'], 'validate');
    expect(loaded.some((url) => url.includes('/src/commands/validate.ts'))).toBe(true);
  });
});
