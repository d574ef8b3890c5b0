import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import type { Account } from '../config/load.js';
import type { HttpResult, RequestGate } from '../providers/http.js';

/**
 * Every HTTP request to a provider account passes this gate, in every worker process on every
 * machine, because its state lives in Redis (two Lua scripts below, on Redis's clock):
 *
 * - Window: a log of the account's requests, each counting until a time. A request starts only
 *   when fewer than `max` still count, so none reaches the provider while `max` others counted in
 *   the last `perMs`. Each counts until perMs after the earlier of:
 *     · its start + marginMs: how late a request may reach the provider compared with others
 *       (scheduling, network), the allowance while its answer is not back;
 *     · its answer: a request has surely been counted by the time its answer is back, and the next
 *       one cannot arrive before it starts. This bound takes no allowance at all.
 *   So a fast provider is used up to its limit (perMs + answer time per window of max), and a slow
 *   or silent one is no worse off than with the allowance alone.
 * - Spacing: requests also start at least perMs / max apart, so the limit is used evenly rather
 *   than in bursts of `max` at the start of each window.
 * - Reservation: a request is given its start time at once (the wait is in this process, not in
 *   Redis), so no process polls.
 * - Pause: a 429/503 answer pauses the whole account for Retry-After (see `pause`), so the other
 *   processes stop sending too instead of each finding out with their own rejected request.
 */
export interface AccountGate {
  gate: RequestGate;
  pause(ms: number): Promise<void>;
}

/** The time between two requests at the limit's full rate. */
export function spacingMs(limit: { max: number; perMs: number }): number {
  return limit.perMs / limit.max;
}

const scripts = {
  // KEYS: the log (ZSET: request id → when it stops counting), the next start allowed by spacing.
  // ARGV: request id, max, perMs, marginMs, spacing. Returns the ms to wait before sending.
  admitRequest: {
    numberOfKeys: 2,
    lua: `
      local clock = redis.call('TIME')
      local now = clock[1] * 1000 + math.floor(clock[2] / 1000)
      redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
      local max = tonumber(ARGV[2])
      local start = math.max(now, tonumber(redis.call('GET', KEYS[2]) or 0))
      local counting = redis.call('ZCARD', KEYS[1])
      if counting >= max then
        -- Fewer than max count once the (counting - max + 1) entries that stop first have stopped.
        local stops = redis.call('ZRANGE', KEYS[1], counting - max, counting - max, 'WITHSCORES')
        start = math.max(start, tonumber(stops[2]))
      end
      local counts_until = start + tonumber(ARGV[3]) + tonumber(ARGV[4])
      redis.call('ZADD', KEYS[1], counts_until, ARGV[1])
      redis.call('PEXPIRE', KEYS[1], math.ceil(counts_until - now))
      local next_start = start + tonumber(ARGV[5])
      redis.call('SET', KEYS[2], tostring(next_start), 'PX', math.ceil(next_start - now) + 1)
      return math.ceil(start - now)`,
  },
  // The request's answer is back: it counts until perMs from now at the latest. KEYS: the log.
  // ARGV: request id, perMs.
  answeredRequest: {
    numberOfKeys: 1,
    lua: `
      local clock = redis.call('TIME')
      local now = clock[1] * 1000 + math.ceil(clock[2] / 1000)
      redis.call('ZADD', KEYS[1], 'XX', 'LT', now + tonumber(ARGV[2]), ARGV[1])
      return 1`,
  },
};

type GateRedis = Redis & {
  admitRequest(log: string, next: string, id: string, max: number, perMs: number, marginMs: number, spacing: number): Promise<number>;
  answeredRequest(log: string, id: string, perMs: number): Promise<number>;
};

function withScripts(redis: Redis): GateRedis {
  const r = redis as GateRedis;
  if (typeof r.admitRequest !== 'function') {
    for (const [name, script] of Object.entries(scripts)) redis.defineCommand(name, script);
  }
  return r;
}

/**
 * Only an answer shows the request was counted before now; one never sent was not counted at all.
 * A lost one may still be on its way: it keeps counting with the allowance.
 */
function settledArrival(result: unknown): boolean {
  const kind = (result as Partial<HttpResult> | undefined)?.kind;
  return kind === 'response' || kind === 'not-sent';
}

export function openAccountGate(redis: Redis, prefix: string, account: Account): AccountGate {
  const scripted = withScripts(redis);
  const logKey = `${prefix}:rate:${account.provider}:${account.name}`;
  const nextKey = `${logKey}:next`;
  const pauseKey = `${prefix}:pause:${account.provider}:${account.name}`;
  const { max, perMs, marginMs } = account.rateLimit;
  // Request ids: this gate's own prefix and a count, unique across processes.
  const idPrefix = randomBytes(6).toString('hex');
  let requests = 0;

  const gate: RequestGate = async (send) => {
    for (let wait = await redis.pttl(pauseKey); wait > 0; wait = await redis.pttl(pauseKey)) await sleep(wait);
    const id = `${idPrefix}:${(requests += 1)}`;
    const wait = await scripted.admitRequest(logKey, nextKey, id, max, perMs, marginMs, spacingMs(account.rateLimit));
    if (wait > 0) await sleep(wait);
    const result = await send();
    // Without this the request keeps counting with the allowance: slower, never over the limit.
    if (settledArrival(result)) await scripted.answeredRequest(logKey, id, perMs).catch(() => {});
    return result;
  };
  return {
    gate,
    pause: async (ms) => {
      if (ms > 0) await redis.set(pauseKey, '1', 'PX', ms);
    },
  };
}
