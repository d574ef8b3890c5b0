import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { RedisClient } from '../redis/connection.js';
import type { Account } from '../config/load.js';
import type { HttpResult, RequestGate } from '../providers/http.js';
import type { RedisKeys } from '../redis/keys.js';
import { scripted } from '../redis/scripts.js';

/**
 * Every HTTP request to a provider account passes this gate, in every worker process on every
 * machine, because its state lives in Redis (two Lua scripts, redis/lua/admitRequest.lua and
 * answeredRequests.lua, on Redis's clock):
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

/**
 * Only an answer shows the request was counted before now; one never sent was not counted at all.
 * A lost one may still be on its way: it keeps counting with the margin.
 */
function settledArrival(result: unknown): boolean {
  const kind = (result as Partial<HttpResult> | undefined)?.kind;
  return kind === 'response' || kind === 'not-sent';
}

/** How much longer the account is paused by a provider's 429/503 answer; 0 when it is not. */
export async function accountPausedForMs(redis: RedisClient, keys: RedisKeys, account: Pick<Account, 'provider' | 'name'>): Promise<number> {
  return Math.max(0, await redis.pttl(keys.pause(account.provider, account.name)));
}

export function openAccountGate(redis: RedisClient, keys: RedisKeys, account: Account): AccountGate {
  const scripts = scripted(redis);
  const logKey = keys.rate(account.provider, account.name);
  const unansweredKey = keys.rateUnanswered(account.provider, account.name);
  const nextKey = keys.rateNext(account.provider, account.name);
  const pauseKey = keys.pause(account.provider, account.name);
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
    scripts
      .answeredRequests(logKey, unansweredKey, perMs, ...ids)
      .catch(() => {})
      .finally(() => {
        telling = false;
        if (answered.length > 0) tellAnswered();
      });
  };

  const gate: RequestGate = async (send) => {
    const id = `${idPrefix}:${(requests += 1)}`;
    const admit = async () => Number(await scripts.admitRequest(logKey, unansweredKey, nextKey, pauseKey, id, max, perMs, marginMs, spacing));
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
