import { Redis } from 'ioredis';
import { afterAll, expect, it } from 'vitest';
import { describeUnexpected } from '../../src/commands/unexpected-error.js';
import { testRedis } from '../helpers/redis.js';

const { url, cleanup } = testRedis();
afterAll(cleanup);

it('prints an unforeseen error\'s stack, never the failed Redis command\'s arguments', async () => {
  // A real ioredis error keeping its command: AUTH with a password, refused by a Redis that has none.
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0 });
  await client.connect();
  const error = await client.call('AUTH', 'sweeper', 'pa55-Sekret!').catch((e: unknown) => e);
  client.disconnect();
  expect(JSON.stringify((error as { command?: unknown }).command)).toContain('pa55-Sekret!');

  const printed = describeUnexpected(error);
  expect(printed).toMatch(/^stipend: unexpected error \(a fault of the program, please report it with this text\):\n/);
  expect(printed).toContain((error as Error).message);
  expect(printed).not.toContain('Sekret');
});

it('masks a URL\'s user part in the stack, and prints what was thrown when it is not an Error', () => {
  const printed = describeUnexpected(new Error('cannot reach redis://admin:url-Sekret@db:6379/0'));
  expect(printed).toContain('cannot reach redis://***@db:6379/0');
  expect(printed).not.toContain('Sekret');
  expect(describeUnexpected('plain')).toMatch(/\nplain\n$/);
});
