import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoRedis } from '../../src/commands/private-redis.js';
import { sandboxProviders } from '../../src/config/sandbox-accounts.js';
import { readRedisSettings } from '../../src/sending/durability.js';
import { assertRedisReachable } from '../../src/redis/connection.js';
import { freePort, redisServerInstalled } from '../helpers/private-redis.js';
import { stipend } from '../helpers/stipend-process.js';

/**
 * `stipend demo` as a first-time user runs it without a Redis. The demo on the configured Redis is
 * test/security/no-secrets-after-demo.test.ts, which also searches everything it left for secrets.
 */

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'stipend-demo-test-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

function expectReconciled(stdout: string): void {
  expect(stdout).toMatch(/every paid row matches a payment the sandbox applied, cent for cent/);
  expect((stdout.match(/: matches the report/g) ?? []).length).toBe(sandboxProviders().length);
}

describe('stipend demo', () => {
  it.skipIf(!redisServerInstalled())('with nothing answering at REDIS_URL, runs a private redis-server for its own length and says so', async () => {
    const nowhere = `redis://127.0.0.1:${await freePort()}`;
    const result = await stipend(['demo', '--out', join(dir, 'private')], { env: { REDIS_URL: nowhere } });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const said = new RegExp(`^no Redis answers at ${nowhere}: started a private one for this demo at (redis://127\\.0\\.0\\.1:\\d+) \\(redis-server, data in (\\S+)\\), removed when the demo ends$`, 'm').exec(result.stdout);
    expect(said, result.stdout).not.toBeNull();
    const [, url, data] = said!;
    expect(result.stdout).toContain(`stipend demo: Redis ${url},`);
    expectReconciled(result.stdout);
    // Stopped and removed when the demo ended.
    expect(existsSync(data!)).toBe(false);
    await expect(assertRedisReachable({ redisUrl: url! })).rejects.toThrow(/not reachable/);
  });

  it.skipIf(!redisServerInstalled())('the private Redis keeps every write it acknowledges and never evicts, as BullMQ and the ledger need', async () => {
    const lines: string[] = [];
    const redis = await demoRedis(`redis://127.0.0.1:${await freePort()}`, (line) => lines.push(line));
    const client = new Redis(redis.url);
    try {
      expect(await readRedisSettings(client, redis.url, undefined)).toMatchObject({ appendonly: true, appendfsync: 'always', noFsyncOnRewrite: false, maxmemoryPolicy: 'noeviction' });
    } finally {
      client.disconnect();
      await redis.stop();
    }
    expect(lines).toHaveLength(1);
  });

  it('without a Redis or redis-server on the PATH, says in one line how to get one (exit 2)', async () => {
    const nowhere = `redis://127.0.0.1:${await freePort()}`;
    // The child is node itself by its full path, so a PATH of an empty folder hides only redis-server.
    const emptyPath = await mkdtemp(join(dir, 'path-'));
    const result = await stipend(['demo', '--out', join(dir, 'none')], { env: { REDIS_URL: nowhere, PATH: emptyPath } });
    expect(result).toMatchObject({
      code: 2,
      stdout: '',
      stderr: `stipend: Redis is not reachable at ${nowhere}, and redis-server is not on the PATH to start a private one: start Redis with docker compose up -d redis, or install your system's package (e.g. sudo apt-get install redis-server), or set REDIS_URL\n`,
    });
  });
});
