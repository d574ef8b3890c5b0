import { randomBytes } from 'node:crypto';
import { parse } from 'csv-parse/sync';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startWorkers } from '../../jobs/workers.js';
import { type Account, type ResolvedConfig, resolveConfig } from '../../src/config/load.js';
import { sandboxConfig } from '../../src/config/sandbox-accounts.js';
import type { ConfigFile } from '../../src/config/schema.js';
import { openContext, type StipendContext } from '../../src/context.js';
import { createLogger } from '../../src/log.js';
import { deleteKeys } from '../../src/queue/cleanup.js';
import { startSandbox, type RunningSandbox } from '../../src/sandbox/index.js';
import type { RunningWorkers } from '../../src/worker-side.js';
import { clusterSeeds } from './cluster-seeds.js';

/**
 * A real stack for a test file: sandboxes over HTTP on free ports, the real Redis under a key prefix
 * of the file's own (removed afterwards), and workers in this process or in child processes.
 */
export interface TestStack {
  prefix: string;
  dir: string;
  config: ResolvedConfig;
  configFile: string;
  context: StipendContext;
  sandboxes: Record<string, RunningSandbox>;
  account(provider: string): Account;
  startWorkers(accounts?: Account[]): Promise<RunningWorkers>;
  /** Writes a manifest into the test's temp folder and returns its path. */
  manifest(name: string, text: string): Promise<string>;
  close(): Promise<void>;
}

type AccountOverrides = Partial<Omit<NonNullable<NonNullable<ConfigFile['accounts']['ctpayer']>[string]>, 'baseUrl' | 'credentials'>>;

/** The sandbox seeds' credentials, as the built-in configuration has them. */
function sandboxCredentials(provider: string): Record<string, string> {
  const accounts = sandboxConfig().accounts as Record<string, { sandbox: { credentials: Record<string, string> } }>;
  return accounts[provider]!.sandbox.credentials;
}

export async function startStack(options: {
  providers: string[];
  account?: AccountOverrides;
  sandbox?: Parameters<typeof startSandbox>[1];
  workers?: { lockDurationMs?: number; sweepIntervalMs?: number };
  /** Another Redis than the shared one (a test's own server). */
  redisUrl?: string;
  /**
   * A Redis Cluster instead (its seed nodes; clusterSeeds() for the shared one), each sending mark
   * waiting for the one replica of its master (redis.waitReplicas 1).
   */
  cluster?: readonly string[];
  /** More of the configuration's `redis` section (waitReplicas, confirmTimeoutMs). */
  redis?: Record<string, unknown>;
  /** How long a settled payment is remembered against a second one (config rememberPaymentsDays). */
  rememberPaymentsDays?: number;
  /** More of the configuration's `archive` section (olderThanDays, everyHours); its folder is the stack's own. */
  archive?: Record<string, unknown>;
}): Promise<TestStack> {
  const prefix = `t-${randomBytes(4).toString('hex')}`;
  const dir = await mkdtemp(join(tmpdir(), 'stipend-test-'));
  const sandboxes: Record<string, RunningSandbox> = {};
  for (const provider of options.providers) {
    sandboxes[provider] = await startSandbox(provider as 'ctpayer', { port: 0, ...options.sandbox });
  }
  // STIPEND_TEST_STACKS=cluster puts every stack on the shared cluster: the whole suite, on Redis Cluster.
  if (options.cluster === undefined && options.redisUrl === undefined && process.env.STIPEND_TEST_STACKS === 'cluster') options = { ...options, cluster: clusterSeeds() };
  const raw = {
    redis: {
      prefix,
      ...(options.redisUrl === undefined ? {} : { url: options.redisUrl }),
      ...(options.cluster === undefined ? {} : { cluster: { nodes: options.cluster }, waitReplicas: 1 }),
      ...options.redis,
    },
    ...(options.workers === undefined ? {} : { workers: options.workers }),
    ...(options.rememberPaymentsDays === undefined ? {} : { rememberPaymentsDays: options.rememberPaymentsDays }),
    // Reports of commands a test runs go to its own folder, never the checkout's reports/.
    reportsDir: join(dir, 'reports'),
    archive: { dir: join(dir, 'archive'), ...options.archive },
    accounts: Object.fromEntries(
      options.providers.map((provider) => [
        provider,
        { main: { baseUrl: sandboxes[provider]!.url, credentials: sandboxCredentials(provider), retry: { attempts: 3, backoffMs: 50 }, timeoutMs: 3000, ...options.account } },
      ]),
    ),
  };
  const configFile = join(dir, 'stipend.config.json');
  await writeFile(configFile, JSON.stringify(raw));
  const config = resolveConfig(raw, configFile);
  const context = await openContext(config);
  const running: RunningWorkers[] = [];
  return {
    prefix,
    dir,
    config,
    configFile,
    context,
    sandboxes,
    account: (provider) => config.accounts.find((a) => a.provider === provider)!,
    async startWorkers(accounts = config.accounts) {
      const workers = await startWorkers(context, accounts, createLogger({ level: 'silent' }));
      running.push(workers);
      return workers;
    },
    async manifest(name, text) {
      const path = join(dir, name);
      await writeFile(path, text);
      return path;
    },
    async close() {
      await Promise.all(running.map((w) => w.close()));
      await deleteKeys(context.redis, prefix);
      await context.close();
      await Promise.all(Object.values(sandboxes).map((s) => s.close()));
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Reads a CSV report into one object per row. */
export function parseReport(csv: string): Record<string, string>[] {
  return parse(csv, { columns: true }) as Record<string, string>[];
}
