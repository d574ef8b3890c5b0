import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { deleteKeys } from '../../src/queue/cleanup.js';
import { connectRedis } from '../../src/redis/connection.js';
import { type RunningSandbox, startSandbox } from '../../src/sandbox/index.js';
import { freePort } from '../helpers/private-redis.js';
import { stipend } from '../helpers/stipend-process.js';

/**
 * What commands print names the servers they use without what signs in to them: an account's
 * baseUrl with a user and password in it, a Redis URL with a password (in its user part or its
 * query), whether the server answers or not.
 */

const SHARED_REDIS = new URL(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
const prefix = `t-${randomBytes(4).toString('hex')}`;
let sandbox: RunningSandbox;
let dir: string;
beforeAll(async () => {
  sandbox = await startSandbox('ptapi', { port: 0 });
  dir = await mkdtemp(join(tmpdir(), 'stipend-secrets-in-output-'));
});
afterAll(async () => {
  await sandbox.close();
  await rm(dir, { recursive: true, force: true });
  const redis = connectRedis({ redisUrl: SHARED_REDIS.href });
  await deleteKeys(redis, prefix);
  await redis.quit();
});

async function configWith(redisUrl: string, baseUrl: string): Promise<string> {
  const file = join(dir, `${randomBytes(3).toString('hex')}.json`);
  const credentials = { username: 'sandbox', password: 'sandbox-password' };
  await writeFile(file, JSON.stringify({ redis: { url: redisUrl, prefix }, accounts: { ptapi: { main: { baseUrl, credentials } } } }));
  return file;
}

it('stipend check prints an account whose baseUrl carries user:secret@, on a Redis URL with a password, without either', async () => {
  // The shared Redis asks for no password: one given is ignored (ioredis says so on stderr), but
  // it is in the URL the command is given.
  const redisUrl = new URL(SHARED_REDIS.href);
  if (redisUrl.password === '') redisUrl.password = 'r3dis-pa%40ss';
  const file = await configWith(redisUrl.href, `http://api-user:url-s3cret@127.0.0.1:${sandbox.port}`);
  const result = await stipend(['--config', file, 'check']);
  expect(result.code, result.stderr).toBe(0);
  expect(result.stdout).toMatch(new RegExp(`^ptapi/main \\(PT API, http://\\*\\*\\*@127\\.0\\.0\\.1:${sandbox.port}\\): OK: .+\n$`));
  const printed = result.stdout + result.stderr;
  for (const secret of ['url-s3cret', 'api-user', redisUrl.password, decodeURIComponent(redisUrl.password), 'sandbox-password']) expect(printed).not.toContain(secret);
});

it('a Redis that does not answer is named without its password, in its user part or its query', async () => {
  const port = await freePort();
  const file = await configWith(`redis://admin:r3dis:pa@ss@127.0.0.1:${port}/0?password=q-s3cret#frag`, `http://127.0.0.1:${sandbox.port}`);
  const result = await stipend(['--config', file, 'check']);
  expect(result).toEqual({
    code: 2,
    stdout: '',
    stderr: `stipend: Redis is not reachable at redis://***@127.0.0.1:${port}/0?password=***: start it (docker compose up -d redis) or set REDIS_URL\n`,
  });
});
