import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, expect, it } from 'vitest';
import type { Account } from '../../src/config/load.js';
import type { HttpResult } from '../../src/providers/http.js';
import { openAccountGate } from '../../src/limits/account-gate.js';
import { testRedis } from '../helpers/redis.js';

/**
 * The account gate counts a request against the limit until a window after its answer, or, while
 * no answer is back, until a window plus the margin after it started. Counted here as the sandboxes
 * count arrivals: the most starts any sliding window holds.
 */

const LIMIT = { max: 3, perMs: 400, marginMs: 400 };
const REQUESTS = 9;
const { redis, keys, cleanup } = testRedis();
afterAll(cleanup);

async function startsThrough(name: string, answer: HttpResult): Promise<number[]> {
  const { gate } = openAccountGate(redis, keys, { provider: 'ctpayer', name, rateLimit: LIMIT } as Account);
  const starts: number[] = [];
  await Promise.all(Array.from({ length: REQUESTS }, () => gate(async () => {
    starts.push(Date.now());
    await sleep(10);
    return answer;
  })));
  return starts;
}

function busiest(times: number[], windowMs: number): number {
  return Math.max(...times.map((t) => times.filter((u) => u >= t && u < t + windowMs).length));
}

it('an answered request stops counting a window after its answer, without the margin', async () => {
  const starts = await startsThrough('answered', { kind: 'response', status: 200, retryAfterMs: undefined, text: '{}' });
  expect(busiest(starts, LIMIT.perMs)).toBeLessThanOrEqual(LIMIT.max);
  // The margin was given back: some window a little longer than perMs holds more than max.
  expect(busiest(starts, LIMIT.perMs + LIMIT.marginMs / 2)).toBeGreaterThan(LIMIT.max);
});

it('a request whose answer was lost keeps counting with the margin', async () => {
  const starts = await startsThrough('lost', { kind: 'lost', error: 'ECONNRESET' });
  expect(busiest(starts, LIMIT.perMs + LIMIT.marginMs / 2)).toBeLessThanOrEqual(LIMIT.max);
});
