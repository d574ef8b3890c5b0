import { type DestinationStream, type Logger, pino } from 'pino';

/**
 * Structured logs on stderr (stdout is for command output). Redaction is a second line of defence:
 * credentials never go into log calls on purpose, but if an object carrying them ever does, these
 * paths are masked.
 */
export const REDACTED_PATHS = [
  'password', '*.password', 'token', '*.token', 'credentials', '*.credentials',
  'authorization', '*.authorization', 'accessId', '*.accessId', 'key', '*.key',
];

export function createLogger(options: { level?: string; name?: string; destination?: DestinationStream } = {}): Logger {
  return pino(
    { name: options.name ?? 'stipend', level: options.level ?? process.env.LOG_LEVEL ?? 'info', redact: { paths: REDACTED_PATHS, censor: '[redacted]' } },
    options.destination ?? pino.destination(2),
  );
}

export type { Logger };
