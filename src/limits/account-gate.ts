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
 *     · its start + marginMs: how much later a request may reach the provider than others
 *       (scheduling, network), assumed while its answer is not back (or was lost);
 *     · its answer: a request has surely been counted by the time its answer is back, and the next
 *       one cannot arrive before it starts. This bound assumes nothing.
 *   So a fast provider is used up to its limit (max per perMs + answer time), and a slow or silent
 *   one is no worse off than with the margin alone.
 * - Spacing: requests also start at least perMs / max apart, so the limit is used evenly rather
 *   than in bursts of `max` at the start of each window.
 * - Reservation: a request is given its start time at once (the wait is in this process), unless
 *   it waits for a request whose answer is not back: then it asks again once that answer could
 *   have let it start (a window later at most), instead of taking the margin's time.
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
  // KEYS: the log (ZSET: request id → when it stops counting), its entries whose answer is not back
  // (ZSET, the same scores), the next start allowed by spacing, the account's pause. ARGV: request
  // id, max, perMs, marginMs, spacing. Returns the ms to wait before sending; negative: before
  // asking again (the account is paused, or see below).
  admitRequest: {
    numberOfKeys: 4,
    lua: `
      local paused = redis.call('PTTL', KEYS[4])
      if paused > 0 then return -paused end
      local clock = redis.call('TIME')
      local now = clock[1] * 1000 + math.floor(clock[2] / 1000)
      redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
      redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
      local max, per = tonumber(ARGV[2]), tonumber(ARGV[3])
      local start = math.max(now, tonumber(redis.call('GET', KEYS[3]) or 0))
      local counting = redis.call('ZCARD', KEYS[1])
      if counting >= max then
        -- Fewer than max count once the (counting - max + 1) entries that stop first have stopped.
        local stops = redis.call('ZRANGE', KEYS[1], counting - max, counting - max, 'WITHSCORES')
        local stop = tonumber(stops[2])
        -- That one's answer is not back: it stops a window after the answer (not before now + perMs),
        -- or with the margin if none comes. Ask again then rather than take the margin's time.
        if redis.call('ZSCORE', KEYS[2], stops[1]) then return -math.max(1, math.ceil(math.min(stop - now, per))) end
        start = math.max(start, stop)
      end
      local counts_until = start + per + tonumber(ARGV[4])
      local ttl = math.ceil(counts_until - now)
      redis.call('ZADD', KEYS[1], counts_until, ARGV[1])
      redis.call('ZADD', KEYS[2], counts_until, ARGV[1])
      redis.call('PEXPIRE', KEYS[1], ttl)
      redis.call('PEXPIRE', KEYS[2], ttl)
      local next_start = start + tonumber(ARGV[5])
      redis.call('SET', KEYS[3], tostring(next_start), 'PX', math.ceil(next_start - now) + 1)
      return math.ceil(start - now)`,
  },
  // These requests' answers are back: each counts until perMs from now at the latest. KEYS: the log,
  // its unanswered entries. ARGV: perMs, then the request ids.
  answeredRequests: {
    numberOfKeys: 2,
    lua: `
      local clock = redis.call('TIME')
      local now = clock[1] * 1000 + math.ceil(clock[2] / 1000)
      local stop = now + tonumber(ARGV[1])
      for i = 2, #ARGV do
        redis.call('ZADD', KEYS[1], 'XX', 'LT', stop, ARGV[i])
        redis.call('ZREM', KEYS[2], ARGV[i])
      end
      return 1`,
  },
};

type GateRedis = Redis & {
  admitRequest(log: string, unanswered: string, next: string, pause: string, id: string, max: number, perMs: number, marginMs: number, spacing: number): Promise<number>;
  answeredRequests(log: string, unanswered: string, perMs: number, ...ids: string[]): Promise<number>;
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
 * A lost one may still be on its way: it keeps counting with the margin.
 */
function settledArrival(result: unknown): boolean {
  const kind = (result as Partial<HttpResult> | undefined)?.kind;
  return kind === 'response' || kind === 'not-sent';
}

/** The key whose time to live is the account's pause (see `pause`). */
function pauseKeyOf(prefix: string, account: Pick<Account, 'provider' | 'name'>): string {
  return `${prefix}:pause:${account.provider}:${account.name}`;
}

/** How much longer the account is paused by a provider's 429/503 answer; 0 when it is not. */
export async function accountPausedForMs(redis: Redis, prefix: string, account: Pick<Account, 'provider' | 'name'>): Promise<number> {
  return Math.max(0, await redis.pttl(pauseKeyOf(prefix, account)));
}

export function openAccountGate(redis: Redis, prefix: string, account: Account): AccountGate {
  const scripted = withScripts(redis);
  const logKey = `${prefix}:rate:${account.provider}:${account.name}`;
  const unansweredKey = `${logKey}:unanswered`;
  const nextKey = `${logKey}:next`;
  const pauseKey = pauseKeyOf(prefix, account);
  const { max, perMs, marginMs } = account.rateLimit;
  const spacing = spacingMs(account.rateLimit);
  // Request ids: this gate's own prefix and a count, unique across processes.
  const idPrefix = randomBytes(6).toString('hex');
  let requests = 0;
  // Answers are told to Redis one call at a time: those that come back meanwhile go together in the
  // next, so a busy worker makes one call per round trip rather than one per request. Nobody waits
  // for it: until it lands a request only counts a little longer (never over the limit). A call that
  // fails leaves its requests counting with the margin.
  let answered: string[] = [];
  let telling = false;
  const tellAnswered = (): void => {
    const ids = answered;
    answered = [];
    telling = true;
    scripted
      .answeredRequests(logKey, unansweredKey, perMs, ...ids)
      .catch(() => {})
      .finally(() => {
        telling = false;
        if (answered.length > 0) tellAnswered();
      });
  };

  const gate: RequestGate = async (send) => {
    const id = `${idPrefix}:${(requests += 1)}`;
    const admit = () => scripted.admitRequest(logKey, unansweredKey, nextKey, pauseKey, id, max, perMs, marginMs, spacing);
    let wait = await admit();
    for (; wait < 0; wait = await admit()) await sleep(-wait);
    if (wait > 0) await sleep(wait);
    const result = await send();
    // Without this the request keeps counting with the margin: slower, never over the limit.
    if (settledArrival(result)) {
      answered.push(id);
      if (!telling) tellAnswered();
    }
    return result;
  };
  return {
    gate,
    pause: async (ms) => {
      if (ms > 0) await redis.set(pauseKey, '1', 'PX', ms);
    },
  };
}
