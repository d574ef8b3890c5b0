import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { redisServerInstalled } from './private-redis.js';
import { startReplicatedRedis } from './replicated-redis.js';
import { startStack, type TestStack } from './stack.js';

/** A test stack on a replicated Redis of its own (replicated-redis.ts), for tests of what Redis can lose. */
interface ReplicatedStack {
  redis: Awaited<ReturnType<typeof startReplicatedRedis>>;
  stack: TestStack;
  close(): Promise<void>;
}

async function startReplicatedStack(options: Omit<Parameters<typeof startStack>[0], 'redisUrl'>): Promise<ReplicatedStack> {
  const dir = await mkdtemp(join(tmpdir(), 'stipend-replicated-'));
  const redis = await startReplicatedRedis(dir);
  const stack = await startStack({ ...options, redisUrl: redis.url });
  return {
    redis,
    stack,
    async close() {
      await stack.close();
      await redis.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * The file's stack on a replicated Redis: started before its tests where redis-server is installed
 * (then `ready`, e.g. workers started), stopped after them. Its parts are read once started.
 */
export function replicatedStackForFile(options: Omit<Parameters<typeof startStack>[0], 'redisUrl'>, ready?: (stack: TestStack) => Promise<unknown>): { readonly redis: ReplicatedStack['redis']; readonly stack: TestStack } {
  let started: ReplicatedStack | undefined;
  beforeAll(async () => {
    if (!redisServerInstalled()) return;
    started = await startReplicatedStack(options);
    await ready?.(started.stack);
  });
  afterAll(async () => {
    await started?.close();
  });
  return {
    get redis() {
      return started!.redis;
    },
    get stack() {
      return started!.stack;
    },
  };
}
