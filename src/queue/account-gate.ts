import Bottleneck from 'bottleneck';
import { Redis } from 'ioredis';
import type { Account } from '../config/load.js';
import type { RequestGate } from '../providers/http.js';
import { quiet } from './redis.js';

/**
 * Every HTTP request to a provider account passes this gate, in every worker process on every
 * machine, because its state lives in Redis:
 *
 * - Spacing: Bottleneck's clustered limiter (scripts run inside Redis, on Redis's clock) starts
 *   requests at least `perMs / max` apart. Evenly spaced requests can never put more than `max`
 *   into ANY window of `perMs` (a sliding window, not just fixed ones), while still reaching the
 *   limit's full rate. Spacing d is chosen so that max·d = perMs + marginMs: even if one request
 *   of a window reaches the provider marginMs later than the next one, the (max+1)-th request
 *   still arrives a full window after the first. (180/min with the default 250 ms margin:
 *   334.7 ms instead of 333.3 ms, 99.6% of the limit.)
 * - Pause: a 429/503 answer pauses the whole account for Retry-After (see `pause`), so the other
 *   processes stop sending too instead of each finding out with their own rejected request.
 */
export interface AccountGate {
  gate: RequestGate;
  pause(ms: number): Promise<void>;
  close(): Promise<void>;
}

export function spacingMs(limit: { max: number; perMs: number; marginMs: number }): number {
  return Math.ceil((limit.perMs + limit.marginMs) / limit.max);
}

/**
 * The Redis connection (and pub/sub subscriber) all of one process's limiters share. Its own
 * connection, because Bottleneck closes the client it was given when it disconnects.
 */
export function openLimiterConnection(redis: Redis): { connection: Bottleneck.IORedisConnection; close(): Promise<void> } {
  const connection = new Bottleneck.IORedisConnection({ client: quiet(redis.duplicate()), Redis });
  connection.on('error', () => {}); // connection trouble surfaces on the next schedule() call instead
  return { connection, close: () => connection.disconnect(true) };
}

export async function openAccountGate(redis: Redis, connection: Bottleneck.IORedisConnection, prefix: string, account: Account): Promise<AccountGate> {
  const id = `${prefix}:rate:${account.provider}:${account.name}`;
  const pauseKey = `${prefix}:pause:${account.provider}:${account.name}`;
  const minTime = spacingMs(account.rateLimit);
  const limiter = new Bottleneck({ id, datastore: 'ioredis', connection, clearDatastore: false, minTime, maxConcurrent: null });
  limiter.on('error', () => {});
  await limiter.ready();
  // Settings already stored in Redis win over the constructor's; make this config's limit current.
  await limiter.updateSettings({ minTime });

  const gate: RequestGate = async (send) => {
    for (let wait = await redis.pttl(pauseKey); wait > 0; wait = await redis.pttl(pauseKey)) {
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
    return limiter.schedule(send);
  };
  return {
    gate,
    pause: async (ms) => {
      if (ms > 0) await redis.set(pauseKey, '1', 'PX', ms);
    },
    close: () => limiter.disconnect(false),
  };
}
