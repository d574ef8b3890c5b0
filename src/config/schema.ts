import { z } from 'zod';
import { PROVIDER_IDS } from '../providers/types.js';
import { namesEnv } from './env.js';

/**
 * The configuration file, as a user writes it, after its ${ENV_VAR} references are filled in: the
 * dashboard's sign-in's and each account's baseUrl and credentials' only when they are used.
 */

const rateLimit = z.strictObject({
  max: z.number().int().positive(),
  perMs: z.number().int().positive(),
  /**
   * How much later a request may reach the provider than the ones after it (scheduling, network):
   * a request counts against the window until perMs after its start plus this, or after its
   * answer if that is back sooner (limits/account-gate.ts).
   */
  marginMs: z.number().int().min(0).max(60_000).default(250),
});

const retry = z.strictObject({
  /** Provider calls per payment for retryable outcomes before the row ends `failed`. */
  attempts: z.number().int().min(1).max(50).default(5),
  /** First backoff; doubles after each retryable outcome. */
  backoffMs: z.number().int().min(0).max(3_600_000).default(1000),
});

const dollars = z.string().regex(/^\d{1,9}(\.\d{1,2})?$/, { error: 'must be dollars like 5000.00' });

/**
 * The information-return threshold by tax year: each entry applies from its year until the next
 * entry's. US defaults: $600 for payments through 2025, $2,000 from 2026.
 */
const taxThresholds = z
  .array(z.strictObject({ fromYear: z.number().int().min(1900).max(9999), amount: dollars }))
  .min(1)
  .refine((list) => new Set(list.map((t) => t.fromYear)).size === list.length, { error: 'each fromYear may appear once' });
export const DEFAULT_TAX_THRESHOLDS = [
  { fromYear: 1900, amount: '600.00' },
  { fromYear: 2026, amount: '2000.00' },
];

/** An account's address, as it must be once its ${VARS} are filled in. */
export const httpUrl = z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' });

/**
 * Where and as whom an account calls its provider. Its ${VARS} are filled in only when the account
 * is used (config/connection.ts): a command that calls no provider needs none of them.
 */
export const accountConnection = z.strictObject({
  baseUrl: httpUrl,
  /** Checked against the provider's own credential schema once the provider is known. */
  credentials: z.record(z.string(), z.string()),
});
export type AccountConnection = z.infer<typeof accountConnection>;

/** A baseUrl naming no ${VAR} is checked at load already: nothing it needs is left to the environment. */
const baseUrlAtLoad = z.string().refine((value) => namesEnv(value) || httpUrl.safeParse(value).success, { error: 'must be an http(s) URL' });

export const accountSchema = z.strictObject({
  baseUrl: baseUrlAtLoad,
  /** Filled in and checked against the provider's own credential schema when the account is used. */
  credentials: accountConnection.shape.credentials,
  /** Requests per window for this account, shared by every worker process; default per provider. */
  rateLimit: rateLimit.optional(),
  /** Payments in flight at once in each worker process. */
  concurrency: z.number().int().min(1).max(200).default(4),
  retry: retry.default({ attempts: 5, backoffMs: 1000 }),
  /**
   * Maker-checker: "always", or { "above": "5000.00" } (dollars): such batches wait for
   * `stipend approve` by someone other than their submitter before any payment is queued.
   */
  approval: z.union([z.literal('always'), z.strictObject({ above: dollars })]).optional(),
  /** How long one provider call may take before its outcome counts as unknown. */
  timeoutMs: z.number().int().min(100).max(300_000).default(15_000),
  /**
   * A RISK, for accounts whose provider would pay a resend (all but CT Payer): lets workers pay on a
   * Redis that can lose an acknowledged write (appendfsync everysec or no, a replica promoted without
   * redis.waitReplicas). Such a loss makes a payment sent before it look unsent, and it is paid
   * again. Workers log a warning at start for each account that relies on it (docs/reliability.md).
   */
  acceptRedisWriteLoss: z.boolean().default(false),
});

/**
 * `stipend dashboard`: who may sign in, and whether queues may be changed. The sign-in may instead
 * come from DASHBOARD_USERNAME / DASHBOARD_PASSWORD, so it is checked (dashboardSignIn) only once
 * the dashboard asks for it, with its ${VARS} filled in then: no other command needs them.
 */
const dashboard = z.strictObject({
  username: z.string().optional(),
  password: z.string().optional(),
  /** Read-only: the queues can be looked at, not paused, retried or cleaned (`--allow-actions` lifts it for a run). */
  readOnly: z.boolean().default(true),
  /** Where the console keeps uploaded manifests between their validation and their submission (default: a folder under the system's temporary folder). */
  uploadsDir: z.string().min(1).optional(),
});

/** The dashboard's sign-in, from the file or the environment, as it must be to be used. */
export const dashboardSignIn = z.strictObject({
  username: z.string().min(1, { error: 'must not be empty' }),
  password: z.string().min(12, { error: 'must be at least 12 characters' }),
});
export type DashboardSignIn = z.infer<typeof dashboardSignIn>;

/** The Redis persistence settings a managed service promises, in Redis' own terms (redis.conf). */
export const durabilityStatement = z.strictObject({
  appendonly: z.boolean(),
  /** `always` must hold during AOF rewrites too (no-appendfsync-on-rewrite no). */
  appendfsync: z.enum(['always', 'everysec', 'no']),
  maxmemoryPolicy: z.string().min(1),
});
export type DurabilityStatement = z.infer<typeof durabilityStatement>;

/** An account's name is a folder too (inbox/<provider>/<account>/, outbox/…): never `..`, a slash or a dot. */
const accountName = z.string().regex(/^[A-Za-z0-9_-]{1,40}$/, { error: 'account names are 1-40 letters, digits, - or _ (each names a folder: inbox/<provider>/<account>/)' });

const redisUrl = z.string().regex(/^rediss?:\/\/[^/]/, { error: 'must start with redis:// or rediss://' });

export const configSchema = z.strictObject({
  redis: z
    .strictObject({
      url: redisUrl.optional(),
      /**
       * Redis Cluster: its seed nodes (any few of its servers; the rest are found from them). Every
       * connection is then a cluster client, and each account's keys live in the account's slot
       * (redis/keys.ts). Instead of `url`.
       */
      cluster: z.strictObject({ nodes: z.array(redisUrl).min(1, { error: 'name at least one node' }) }).optional(),
      /** Every key this program writes starts with this, so several installations can share a Redis. */
      /**
       * A hash tag in it (`{stipend}`) puts every key in that one slot of a cluster, as BullMQ's own
       * guide advises: it works, but nothing spreads over the shards (docs/scaling-out.md).
       */
      prefix: z.string().max(40, { error: 'must be at most 40 characters' })
        .regex(/^[A-Za-z0-9_.-]*(\{[A-Za-z0-9_.-]+\})?[A-Za-z0-9_.-]*$/, { error: 'must be letters, digits, _ . or -, with at most one {hash tag} of them' })
        .min(1, { error: 'must not be empty' })
        .default('stipend'),
      /**
       * Replicas that must have received each sending mark (WAIT) before its request leaves, so a
       * failover to a replica cannot lose it. 0 states that no replica is ever promoted.
       */
      waitReplicas: z.number().int().min(0).max(16).optional(),
      /** How long a sending mark may take to become durable (WAIT, WAITAOF) before its payment is tried again later. */
      confirmTimeoutMs: z.number().int().min(50).max(60_000).default(2000),
      /**
       * Where the server refuses CONFIG (managed Redis): what its provider guarantees, as the operator
       * states it. Never used when CONFIG answers; without either, workers refuse to start.
       */
      durability: durabilityStatement.optional(),
    })
    .refine((redis) => redis.url === undefined || redis.cluster === undefined, { error: 'give url (one Redis) or cluster (its nodes), not both', path: ['cluster'] })
    .default({ prefix: 'stipend', confirmTimeoutMs: 2000 }),
  /**
   * How long a settled payment is remembered, so that the same payment in a later manifest is not
   * paid again (it is reported skipped_duplicate). Unset: forever.
   */
  rememberPaymentsDays: z.number().positive().optional(),
  workers: z
    .strictObject({
      /**
       * How long a job stays with a worker that stops renewing it (a killed process) before another
       * worker takes it up. Shorter recovers faster; it must exceed a stall of the event loop.
       */
      lockDurationMs: z.number().int().min(1000).max(600_000).default(30_000),
      /** How often a worker looks for payments whose job ended without a final status. */
      sweepIntervalMs: z.number().int().min(200).max(3_600_000).default(60_000),
    })
    .default({ lockDurationMs: 30_000, sweepIntervalMs: 60_000 }),
  dashboard: dashboard.default({ readOnly: true }),
  /** Where `stipend run` writes reports unless --out says otherwise. */
  reportsDir: z.string().min(1).default('reports'),
  /**
   * Settled batches moved out of Redis into files (archive/): where, after how long, and how often
   * the workers do it on their own (0: only `stipend archive`). docs/archive.md.
   */
  archive: z
    .strictObject({
      /**
       * Every process that reads archived batches (workers, CLI, console) needs this folder: on
       * several machines, a shared one. Unset: STIPEND_ARCHIVE_DIR, else ./archive.
       */
      dir: z.string().min(1).optional(),
      /** A settled batch is archived once it was submitted this many days ago. */
      olderThanDays: z.number().positive().default(90),
      /** How often a worker process archives what is old enough; 0: never on its own. */
      everyHours: z.number().min(0).max(24 * 31).default(24),
    })
    .default({ olderThanDays: 90, everyHours: 24 }),
  taxThresholds: taxThresholds.default(DEFAULT_TAX_THRESHOLDS),
  accounts: z.partialRecord(z.enum(PROVIDER_IDS), z.record(accountName, accountSchema)),
});

export type ConfigFile = z.input<typeof configSchema>;
export type Config = z.infer<typeof configSchema>;
export type AccountConfig = z.infer<typeof accountSchema>;
