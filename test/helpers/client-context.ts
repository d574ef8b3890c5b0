import { afterAll, beforeAll, beforeEach } from 'vitest';
import { createHttpSender } from '../../src/providers/http.js';
import type { ClientContext, ProviderId } from '../../src/providers/types.js';
import { type RunningSandbox, startSandbox } from '../../src/sandbox/index.js';
import { sessionSeal } from '../../src/sending/session-seal.js';
import { redisSession } from '../../src/sending/shared-session.js';
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
      const sessionKey = `${redis.prefix}:session:${options.sessionKey ?? String(++sessions)}`;
      return {
        baseUrl,
        credentials,
        send: createHttpSender({ timeoutMs: options.timeoutMs ?? 5000 }),
        session: redisSession(redis.redis, sessionKey, sessionSeal(credentials, sessionKey)),
      };
    },
    cleanup: () => redis.cleanup(),
  };
}

/**
 * One provider's sandbox for an adapter test file: started once before its tests (then `started`
 * runs, e.g. to make the file's client), reset before each test, and closed after them together
 * with the file's Redis sessions. Returns the file's client contexts.
 */
export function sandboxPerFile(
  provider: ProviderId,
  started: (sandbox: RunningSandbox) => void,
  options: { seed?: () => Promise<unknown> } = {},
): ReturnType<typeof clientContexts> {
  const contexts = clientContexts();
  let sandbox: RunningSandbox | undefined;
  beforeAll(async () => {
    sandbox = await startSandbox(provider, { port: 0, ...(options.seed ? { seed: await options.seed() } : {}) });
    started(sandbox);
  });
  afterAll(async () => {
    await sandbox?.close();
    await contexts.cleanup();
  });
  beforeEach(() => sandbox?.reset());
  return contexts;
}
