import { redactUrlsIn } from '../redact-url.js';

/**
 * What `stipend` prints for an error that is not the program's own (a bug, a library failing in a
 * way nobody foresaw): its stack, for whoever reports it, and nothing else. Node's default would
 * also print the error's own properties, and some carry secrets: an ioredis error keeps the
 * command that failed with its arguments, so a refused AUTH would print the Redis password.
 */
export function describeUnexpected(error: unknown): string {
  const text = error instanceof Error ? (error.stack ?? `${error.name}: ${error.message}`) : String(error);
  return `stipend: unexpected error (a fault of the program, please report it with this text):\n${redactUrlsIn(text)}\n`;
}
