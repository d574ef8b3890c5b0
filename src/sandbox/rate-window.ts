import { z } from 'zod';

export const rateLimitSchema = z
  .strictObject({ max: z.number().int().positive(), perMs: z.number().int().positive() })
  .nullable();
export type RateLimit = z.infer<typeof rateLimitSchema>;

export type Admission = { admitted: true } | { admitted: false; retryAfterMs: number };

/**
 * A sliding-window log per account: a request is admitted when fewer than `max` admitted requests
 * of its account arrived in the last `perMs` ms. Fixed windows would let 2×max through around a
 * window edge, which is exactly the burst a client's limiter must be tested against. Refused
 * requests are not logged, so a client that keeps knocking is not locked out for longer.
 */
export class SlidingWindowLog {
  private readonly admitted = new Map<string, number[]>();

  constructor(private limit: RateLimit) {}

  setLimit(limit: RateLimit): void {
    this.limit = limit;
  }

  clear(): void {
    this.admitted.clear();
  }

  admit(account: string, now: number): Admission {
    if (this.limit === null) return { admitted: true };
    const { max, perMs } = this.limit;
    const log = this.admitted.get(account) ?? [];
    while (log.length > 0 && log[0]! <= now - perMs) log.shift();
    if (log.length >= max) {
      // The oldest admitted request in the window leaves it at log[length - max] + perMs.
      return { admitted: false, retryAfterMs: log[log.length - max]! + perMs - now };
    }
    log.push(now);
    this.admitted.set(account, log);
    return { admitted: true };
  }
}
