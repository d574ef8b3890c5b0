import { createLogger, type Logger } from '../log.js';

/** What BullMQ's Queue, Worker and QueueEvents have in common here: they emit `error`. */
interface ErrorEmitter {
  on(event: 'error', listener: (error: Error) => void): unknown;
}

// While Redis is away every reconnect attempt fails the same way: the same line is written at most
// once in this long, with how many were left out.
const REPEAT_QUIET_MS = 30_000;

let fallbackLog: Logger | undefined;

/**
 * Every BullMQ Queue, Worker and QueueEvents emits `error` (a connection lost, a command refused);
 * without a listener Node ends the process on the first one. This logs each through the project's
 * logger as one JSON line with the message, never a stack trace: connection trouble is an operator's
 * matter, and BullMQ reconnects by itself. `log` defaults to a logger on stderr, for commands that
 * have none of their own.
 */
export function logBullErrors<T extends ErrorEmitter>(emitter: T, where: Record<string, unknown>, log: Logger = (fallbackLog ??= createLogger())): T {
  let last: { error: string; at: number } | undefined;
  let leftOut = 0;
  emitter.on('error', (error) => {
    const described = describeError(error);
    const now = Date.now();
    if (last?.error === described && now - last.at < REPEAT_QUIET_MS) {
      leftOut += 1;
      return;
    }
    log.error({ ...where, error: described, ...(leftOut > 0 ? { repeatsLeftOut: leftOut } : {}) }, 'queue error (BullMQ or its Redis connection)');
    last = { error: described, at: now };
    leftOut = 0;
  });
  return emitter;
}

function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && !error.message.includes(code) ? `${error.message} (${code})` : error.message;
}
