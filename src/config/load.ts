import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { ConfigError, StipendError } from '../errors.js';
import { parseBalanceDollars } from '../money.js';
import { type AnyAdapter, getAdapter } from '../providers/index.js';
import type { ProviderId } from '../providers/types.js';
import { type Connection, lazyConnection } from './connection.js';
import { fillEnv, type FilledLater } from './env.js';
import { describeIssues } from './issues.js';
import { sandboxConfig } from './sandbox-accounts.js';
import { type AccountConfig, type Config, configSchema, dashboardSignIn, type DashboardSignIn, type DurabilityStatement } from './schema.js';

export const DEFAULT_CONFIG_FILE = 'stipend.config.json';
const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';
/** The dashboard's user when neither the file nor DASHBOARD_USERNAME names one. */
export const DEFAULT_DASHBOARD_USERNAME = 'finance';

/** One provider account, ready to use: its adapter, effective limits and, when asked for, its connection. */
export interface Account extends Omit<AccountConfig, 'rateLimit' | 'baseUrl' | 'credentials'> {
  provider: ProviderId;
  name: string;
  adapter: AnyAdapter;
  /**
   * baseUrl and credentials, their ${VARS} filled in and checked only now (config/connection.ts):
   * commands that call no provider, or other accounts only, need none of them.
   */
  connection: () => Connection;
  rateLimit: { max: number; perMs: number; marginMs: number };
}

export interface ResolvedConfig {
  /** The file it came from, or a note that the built-in sandbox accounts are in use. */
  source: string;
  /** The one Redis; unused when redisCluster is set. */
  redisUrl: string;
  /** Redis Cluster's seed nodes (redis.cluster): every connection is a cluster client. */
  redisCluster: string[] | undefined;
  prefix: string;
  /** What makes a sending mark durable before its request leaves (sending/durability.ts). */
  durability: { waitReplicas: number | undefined; confirmTimeoutMs: number; statement: DurabilityStatement | undefined };
  reportsDir: string;
  /** Settled batches moved out of Redis (archive/): the folder, the age in ms, how often a worker archives (ms; 0: never). */
  archive: { dir: string; olderThanMs: number; everyMs: number };
  /** config rememberPaymentsDays in ms; undefined: remembered forever. */
  rememberPaymentsMs: number | undefined;
  lockDurationMs: number;
  sweepIntervalMs: number;
  dashboard: {
    readOnly: boolean;
    /**
     * `stipend dashboard`'s sign-in, its ${VARS} filled in and its rules checked only now (no other
     * command needs them); undefined when no password is configured anywhere.
     */
    signIn: () => DashboardSignIn | undefined;
    /** Where the console keeps uploaded manifests, as configured (relative to the working folder, like reportsDir). */
    uploadsDir: string | undefined;
  };
  /** Information-return thresholds in cents, by the first tax year each applies to, oldest first. */
  taxThresholds: { fromYear: number; cents: number }[];
  accounts: Account[];
}

/** --config, else STIPEND_CONFIG, else ./stipend.config.json, else the built-in sandbox accounts. */
export async function loadConfig(options: { path?: string; env?: NodeJS.ProcessEnv } = {}): Promise<ResolvedConfig> {
  const env = options.env ?? process.env;
  const path = options.path ?? env.STIPEND_CONFIG ?? (existsSync(DEFAULT_CONFIG_FILE) ? DEFAULT_CONFIG_FILE : undefined);
  if (path === undefined) return resolveConfig(sandboxConfig(), 'built-in sandbox accounts', env);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`cannot read config file ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`config file ${path} is not valid JSON: ${(error as Error).message}`);
  }
  return resolveConfig(raw, path, env);
}

export function resolveConfig(raw: unknown, source: string, env: NodeJS.ProcessEnv = process.env): ResolvedConfig {
  const parsed = configSchema.safeParse(fillEnv(raw, [], env, source, filledWhenUsed));
  if (!parsed.success) throw new ConfigError(describeIssues(source, parsed.error));
  const config = parsed.data;
  const accounts: Account[] = [];
  for (const [provider, named] of Object.entries(config.accounts) as [ProviderId, Record<string, AccountConfig>][]) {
    const adapter = adapterFor(provider, source);
    for (const [name, { baseUrl, credentials, ...settings }] of Object.entries(named)) {
      const connection = lazyConnection({ provider, name, adapter }, { baseUrl, credentials }, source, env);
      accounts.push({ ...settings, provider, name, adapter, connection, rateLimit: settings.rateLimit ?? adapter.defaultRateLimit });
    }
  }
  if (accounts.length === 0) throw new ConfigError(`${source}: accounts: configure at least one provider account`);
  return {
    source,
    redisUrl: config.redis.url ?? env.REDIS_URL ?? DEFAULT_REDIS_URL,
    // The file decides; else REDIS_CLUSTER_NODES (comma-separated) or REDIS_URL, as docker-compose sets them.
    redisCluster: config.redis.cluster?.nodes ?? (config.redis.url === undefined ? clusterNodesFrom(env.REDIS_CLUSTER_NODES) : undefined),
    prefix: config.redis.prefix,
    durability: { waitReplicas: config.redis.waitReplicas, confirmTimeoutMs: config.redis.confirmTimeoutMs, statement: config.redis.durability },
    reportsDir: config.reportsDir,
    archive: { dir: config.archive.dir ?? env.STIPEND_ARCHIVE_DIR ?? 'archive', olderThanMs: Math.round(config.archive.olderThanDays * 86_400_000), everyMs: Math.round(config.archive.everyHours * 3_600_000) },
    rememberPaymentsMs: config.rememberPaymentsDays === undefined ? undefined : Math.round(config.rememberPaymentsDays * 86_400_000),
    lockDurationMs: config.workers.lockDurationMs,
    sweepIntervalMs: config.workers.sweepIntervalMs,
    dashboard: { readOnly: config.dashboard.readOnly, signIn: () => resolveSignIn(config.dashboard, source, env), uploadsDir: config.dashboard.uploadsDir },
    taxThresholds: config.taxThresholds.map((t) => ({ fromYear: t.fromYear, cents: parseBalanceDollars(t.amount)! })).sort((a, b) => a.fromYear - b.fromYear),
    accounts,
  };
}

/** The account a command means: --account when given, else the provider's only account. */
export function findAccount(config: ResolvedConfig, provider: string, name?: string): Account {
  const candidates = config.accounts.filter((a) => a.provider === provider);
  if (candidates.length === 0) throw new ConfigError(`no ${provider} account is configured (${config.source})`);
  if (name !== undefined) {
    const account = candidates.find((a) => a.name === name);
    if (!account) throw new ConfigError(`no ${provider} account named "${name}"; configured: ${candidates.map((a) => a.name).join(', ')}`);
    return account;
  }
  if (candidates.length > 1) {
    throw new ConfigError(`${provider} has several accounts (${candidates.map((a) => a.name).join(', ')}); choose one with --account`);
  }
  return candidates[0]!;
}

/** The accounts a command applies to: all, or those of --provider and/or --account. */
export function selectAccounts(config: ResolvedConfig, provider?: string, name?: string): Account[] {
  const accounts = config.accounts.filter((a) => (provider === undefined || a.provider === provider) && (name === undefined || a.name === name));
  if (accounts.length === 0) throw new ConfigError(`no configured account matches --provider ${provider ?? '*'} --account ${name ?? '*'} (${config.source})`);
  return accounts;
}

function adapterFor(provider: ProviderId, source: string): AnyAdapter {
  try {
    return getAdapter(provider);
  } catch (error) {
    if (error instanceof StipendError) throw new ConfigError(`${source}: accounts.${provider}: this provider is not supported yet`);
    throw error;
  }
}

/**
 * The keys whose ${VARS} only some commands need, filled in when they are used: the dashboard's
 * sign-in (resolveSignIn) and each account's baseUrl and credentials (Account.connection).
 */
const filledWhenUsed: FilledLater = (path) =>
  (path.length === 2 && path[0] === 'dashboard' && (path[1] === 'username' || path[1] === 'password'))
  || (path.length === 4 && path[0] === 'accounts' && (path[3] === 'baseUrl' || path[3] === 'credentials'));

/**
 * The file's dashboard.username and dashboard.password, each else DASHBOARD_USERNAME and
 * DASHBOARD_PASSWORD (so the quick start needs no file), held to the same rules wherever they come
 * from; an error names the key or the variable, never the value.
 */
function resolveSignIn(section: Config['dashboard'], source: string, env: NodeJS.ProcessEnv): DashboardSignIn | undefined {
  const take = (key: 'username' | 'password', variable: string) =>
    section[key] === undefined
      ? { value: env[variable], origin: `environment variable ${variable}` }
      : { value: fillEnv(section[key], ['dashboard', key], env, source) as string, origin: `${source}: dashboard.${key}` };
  const password = take('password', 'DASHBOARD_PASSWORD');
  if (password.value === undefined) return undefined;
  const username = take('username', 'DASHBOARD_USERNAME');
  const parsed = dashboardSignIn.safeParse({ username: username.value ?? DEFAULT_DASHBOARD_USERNAME, password: password.value });
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  throw new ConfigError(`${issue.path[0] === 'username' ? username.origin : password.origin}: ${issue.message}`);
}

function clusterNodesFrom(value: string | undefined): string[] | undefined {
  const nodes = value?.split(',').map((node) => node.trim()).filter((node) => node !== '');
  return nodes === undefined || nodes.length === 0 ? undefined : nodes;
}
