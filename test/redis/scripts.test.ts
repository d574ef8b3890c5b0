import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { PROVIDER_FIELD } from '../../src/ledger/claims.js';
import { FINAL_STATUSES } from '../../src/ledger/payment-status.js';
import { SCRIPT_TEXT, scripted } from '../../src/redis/scripts.js';
import { testRedis } from '../helpers/redis.js';

const { redis, prefix, cleanup } = testRedis();
afterAll(cleanup);

it('every .lua file in src/redis/lua is a script the loader registers', () => {
  const files = readdirSync(join(import.meta.dirname, '../../src/redis/lua')).filter((name) => name.endsWith('.lua'));
  expect(files.map((name) => name.slice(0, -'.lua'.length)).sort()).toEqual(Object.keys(SCRIPT_TEXT).sort());
});

it('expands an include asked for twice (directly and through another include) once', () => {
  const text = SCRIPT_TEXT.beginSending;
  expect(text.match(/local function now_ms\(\)/g)).toHaveLength(1);
  expect(text).not.toContain('@include');
});

it('the Lua set of final statuses is FINAL_STATUSES, and claimPayments names provider fields with PROVIDER_FIELD', async () => {
  const include = SCRIPT_TEXT.finalizePayment.slice(0, SCRIPT_TEXT.finalizePayment.indexOf('local function recount'));
  const statuses = (await redis.eval(`${include}\nlocal out = {}\nfor status in pairs(final) do out[#out + 1] = status end\nreturn out`, 0)) as string[];
  expect(statuses.sort()).toEqual([...FINAL_STATUSES].sort());
  expect(SCRIPT_TEXT.claimPayments).toContain(`'${PROVIDER_FIELD}' .. name`);
});

it('runs a script by its name with its number of keys', async () => {
  const key = `${prefix}:lock`;
  await redis.set(key, 'token');
  expect(await scripted(redis).renewLock(key, 'other', 1000)).toBe(0);
  expect(await scripted(redis).releaseLock(key, 'token')).toBe(1);
  expect(await redis.exists(key)).toBe(0);
});
