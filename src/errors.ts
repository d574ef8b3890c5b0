import { redactUrl } from './redact-url.js';

/**
 * Every error the program raises on purpose is a StipendError with a stable code. The CLI prints
 * these as one line (no stack trace): they describe a user's or an operator's mistake, not a bug.
 */
export class StipendError extends Error {
  constructor(
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A bad command line: unknown flag, missing argument, file not found. CLI exit code 2. */
export class UsageError extends StipendError {
  constructor(message: string) {
    super('USAGE', message);
  }
}

/** The configuration file (or an environment variable it references) is wrong. CLI exit code 2. */
export class ConfigError extends StipendError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('CONFIG', message, options);
  }
}

/** Redis did not answer: nothing can be queued or recorded. The URL is shown without its password. */
export class RedisUnavailableError extends StipendError {
  constructor(url: string, options?: { cause?: unknown }) {
    super('REDIS_UNAVAILABLE', `Redis is not reachable at ${redactUrl(url)}: start it (docker compose up -d redis) or set REDIS_URL`, options);
  }
}

/** A batch id that is not recorded in the ledger. */
export class BatchNotFoundError extends StipendError {
  constructor(batchId: string) {
    super('BATCH_NOT_FOUND', `no batch ${batchId} is recorded`);
  }
}

/** A reversal that cannot be asked for as given (a provider without reversals, a reason it would refuse): nothing changed. */
export class ReversalRefusedError extends StipendError {
  constructor(message: string) {
    super('REVERSAL_REFUSED', message);
  }
}

/**
 * Workers refuse to start: the Redis server could lose an acknowledged sending mark, and an account
 * would then pay a payment twice (sending/durability.ts, docs/reliability.md). Nothing was sent.
 */
export class RedisDurabilityError extends StipendError {
  constructor(message: string) {
    super('REDIS_NOT_DURABLE', message);
  }
}
