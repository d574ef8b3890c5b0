import { createHttpSender } from '../../src/providers/http.js';
import type { ClientContext } from '../../src/providers/types.js';
import { redisSession } from '../../src/queue/shared-session.js';
import { testRedis } from './redis.js';

/**
 * What an adapter needs to talk to a sandbox in a test, as workers give it: real HTTP, and the
 * account's session in the real Redis under this test file's own prefix.
 */
export function clientContexts() {
  const redis = testRedis();
  let sessions = 0;
  return {
    redis,
    context<C>(baseUrl: string, credentials: C, options: { timeoutMs?: number; sessionKey?: string } = {}): ClientContext<C> {
      return {
        baseUrl,
        credentials,
        send: createHttpSender({ timeoutMs: options.timeoutMs ?? 5000 }),
        session: redisSession(redis.redis, `${redis.prefix}:session:${options.sessionKey ?? String(++sessions)}`),
      };
    },
    cleanup: () => redis.cleanup(),
  };
}
