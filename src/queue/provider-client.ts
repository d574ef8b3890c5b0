import type { Redis } from 'ioredis';
import type { Account } from '../config/load.js';
import { createHttpSender, type RequestGate } from '../providers/http.js';
import type { ProviderClient } from '../providers/types.js';
import { redisSession } from './shared-session.js';

/**
 * An account's provider client, wired to the shared session in Redis and, for workers, to the
 * account's rate-limit gate (every HTTP request the adapter makes passes it).
 */
export function openProviderClient(redis: Redis, prefix: string, account: Account, gate?: RequestGate): ProviderClient<Record<string, string>> {
  return account.adapter.createClient({
    baseUrl: account.baseUrl,
    credentials: account.credentials,
    send: createHttpSender({ timeoutMs: account.timeoutMs, ...(gate ? { gate } : {}) }),
    session: redisSession(redis, `${prefix}:session:${account.provider}:${account.name}`),
  });
}
