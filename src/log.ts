import { type DestinationStream, type Logger, pino } from 'pino';
import { redactUrlsIn } from './redact-url.js';
import { isSecretName } from './secret-names.js';

/** What a masked field's value becomes. */
const REDACTED = '[redacted]';

/**
 * How deep into a logged object fields are looked at (log fields are small, flat records); what lies
 * deeper is masked whole, unread, which also ends a walk round an object that contains itself.
 */
const MASKED_DEPTH = 6;

/**
 * Structured logs on stderr (stdout is for command output). Masking is a second line of defence:
 * credentials never go into log calls on purpose, but if an object carrying them ever does:
 * - every field whose name says it holds one (secret-names.ts), in any case and at any depth, is
 *   masked, in errors too, wherever they are logged (not in a child logger's bindings, which pino
 *   writes as given: children are bound to names, never to secrets);
 * - every URL anywhere in the line (a field, the message, an error's message or stack, a child's
 *   bindings) goes through redactUrl, as the finished line is written.
 * Done with pino's hooks, not its `redact` paths: a path matches one depth and one spelling only,
 * and a path per name and depth costs more per line than walking the few fields a line has.
 */
export function createLogger(options: { level?: string; defaultLevel?: string; name?: string; destination?: DestinationStream } = {}): Logger {
  // `level` is fixed by the caller; `defaultLevel` is what LOG_LEVEL, when set, overrides.
  const level = options.level ?? process.env.LOG_LEVEL ?? options.defaultLevel ?? 'info';
  return pino(
    {
      name: options.name ?? 'stipend',
      level,
      formatters: { log: (fields) => maskSecrets(fields, 0) as Record<string, unknown> },
      // The formatter has already made each error a masked record; pino's own would take that for
      // an error again and name its type Object.
      serializers: { err: (serialized: unknown) => serialized },
      hooks: { streamWrite: (line) => (line.includes('://') ? redactUrlsIn(line) : line) },
    },
    options.destination ?? pino.destination(2),
  );
}

/** A copy with secrets masked: plain objects and arrays walked, errors serialized, anything with toJSON (a URL, a Date) as it would be written. */
function maskSecrets(value: unknown, depth: number): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (depth > MASKED_DEPTH) return REDACTED;
  if (value instanceof Error) return maskSecrets(serializeError(value), depth);
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return maskSecrets((value as { toJSON(): unknown }).toJSON(), depth);
  if (Array.isArray(value)) return value.map((item) => maskSecrets(item, depth + 1));
  // fromEntries defines each field, so one named __proto__ stays a field.
  return Object.fromEntries(Object.entries(value).map(([key, field]) => [key, secretField(key) ? REDACTED : maskSecrets(field, depth + 1)]));
}

/**
 * pino's error serializer (type, message and stack with their causes, the error's own fields). A
 * failed Redis command keeps only its name: ioredis puts the command on its errors, and AUTH's
 * arguments are the password.
 */
function serializeError(error: Error): Record<string, unknown> {
  const { command, ...fields } = { ...pino.stdSerializers.err(error) } as Record<string, unknown>;
  return command === undefined ? fields : { ...fields, command: { name: (command as { name?: unknown }).name } };
}

// Log lines repeat the same few field names: each is judged once (up to a bound, for names made up
// at run time).
const judged = new Map<string, boolean>();
const JUDGED_NAMES = 1000;

function secretField(name: string): boolean {
  let secret = judged.get(name);
  if (secret === undefined) {
    secret = isSecretName(name);
    if (judged.size < JUDGED_NAMES) judged.set(name, secret);
  }
  return secret;
}

export type { Logger };
