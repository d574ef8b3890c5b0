import { afterAll, expect, it } from 'vitest';
import type { Account } from '../../src/config/load.js';
import type { HttpResult } from '../../src/providers/http.js';
import { openAccountGate } from '../../src/limits/account-gate.js';
import { testRedis } from '../helpers/redis.js';

/** A 429/503 pauses the whole account: every gate of it, in any process, holds its requests until the pause ends. */

const { redis, keys, cleanup } = testRedis();
afterAll(cleanup);

const ANSWER: HttpResult = { kind: 'response', status: 200, retryAfterMs: undefined, text: '{}' };
const account = { provider: 'ctpayer', name: 'paused', rateLimit: { max: 1000, perMs: 1000, marginMs: 0 } } as Account;

it('holds requests through another gate of the account until the pause is over, then lets them go', async () => {
  const [first, second] = [openAccountGate(redis, keys, account), openAccountGate(redis, keys, account)];
  const pausedAt = Date.now();
  await first.pause(400);
  const starts = await Promise.all([1, 2, 3].map(() => second.gate(async () => Date.now())));
  for (const start of starts) expect(start - pausedAt).toBeGreaterThanOrEqual(390);
  // Once it is over, requests go again.
  expect(await first.gate(async () => ANSWER)).toBe(ANSWER);
});
