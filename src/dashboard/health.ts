import type { Queue } from 'bullmq';
import type { RedisClient } from '../redis/connection.js';

export type Health =
  | { status: 'ok'; redis: 'ok'; workers: number; queues: Record<string, number> }
  | { status: 'unavailable'; reason: string; redis: 'ok' | 'unreachable'; workers?: number; queues?: Record<string, number> };

const PING_TIMEOUT_MS = 2000;

/**
 * `/healthz`: Redis answers, and at least one worker process is connected. Every worker process
 * (`stipend worker`, `--with-worker`) runs exactly one worker on the schedules queue, so that
 * queue's worker count is the number of worker processes; `queues` gives each payment queue's own,
 * which shows an account no worker serves. Workers are seen through Redis' CLIENT LIST (BullMQ
 * names its connections), so a Redis that forbids CLIENT reports unavailable with its error.
 */
export async function checkHealth(redis: RedisClient, schedules: Queue, paymentQueues: Queue[]): Promise<Health> {
  try {
    await withTimeout(redis.ping(), PING_TIMEOUT_MS);
  } catch (error) {
    return { status: 'unavailable', redis: 'unreachable', reason: `Redis did not answer PING: ${error instanceof Error ? error.message : String(error)}` };
  }
  try {
    const [workers, ...perQueue] = await Promise.all([schedules, ...paymentQueues].map((queue) => queue.getWorkersCount()));
    const queues = Object.fromEntries(paymentQueues.map((queue, i) => [queue.name, perQueue[i]!]));
    if (workers === 0) return { status: 'unavailable', redis: 'ok', workers: 0, queues, reason: 'no worker process is connected' };
    return { status: 'ok', redis: 'ok', workers: workers!, queues };
  } catch (error) {
    return { status: 'unavailable', redis: 'ok', reason: `cannot list the workers: ${error instanceof Error ? error.message : String(error)}` };
  }
}

async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
