import type { RedisClient } from '../redis/connection.js';
import type { Account } from '../config/load.js';
import { createHttpSender, type RequestGate, type RequestTiming } from '../providers/http.js';
import type { ProviderClient } from '../providers/types.js';
import type { RedisKeys } from '../redis/keys.js';
import { sessionSeal } from './session-seal.js';
import { redisSession } from './shared-session.js';

/**
 * An account's provider client, wired to the shared session in Redis and, for workers, to the
 * account's rate-limit gate (every HTTP request the adapter makes passes it), and `observe` hears
 * how long each request waited and took. The account's ${VARS} are filled in here
 * (Account.connection): a command that opens no client needs none of them. The session is sealed
 * with the account's credentials (session-seal.ts).
 */
export function openProviderClient(
  redis: RedisClient,
  keys: RedisKeys,
  account: Account,
  gate?: RequestGate,
  observe?: (timing: RequestTiming) => void,
): ProviderClient<Record<string, string>> {
  const connection = account.connection();
  const sessionKey = keys.session(account.provider, account.name);
  return account.adapter.createClient({
    ...connection,
    send: createHttpSender({ timeoutMs: account.timeoutMs, ...(gate ? { gate } : {}), ...(observe ? { observe } : {}) }),
    session: redisSession(redis, sessionKey, sessionSeal(connection.credentials, sessionKey)),
  });
}
