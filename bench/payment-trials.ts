import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { Cluster } from 'ioredis';
import type { RedisClient } from '../src/redis/connection.js';
import { loadConfig, resolveConfig } from '../src/config/load.js';
import { sandboxConfig } from '../src/config/sandbox-accounts.js';
import { openContext, type StipendContext } from '../src/context.js';
import { newBatchId } from '../src/ledger/batches.js';
import type { ManifestRow } from '../src/manifest/index.js';
import { fixturePath } from '../src/package-root.js';
import { deleteKeys } from '../src/queue/cleanup.js';
import { bullPrefix, paymentJob, queueName } from '../src/queue/payment-job.js';
import { connectRedis } from '../src/redis/connection.js';
import { type RunningSandbox, type SandboxOptions, startSandbox } from '../src/sandbox/index.js';
import { type Measure, trial } from './harness.js';
import { windowCounts } from './rate-windows.js';
import { type AccountSettings, bareBullPrefix, benchConfig, enqueueBatch, newPrefix, writeBenchConfig } from './stack.js';

/**
 * The CT Payer sandbox for the execute rows, in the harness's process so that the worker trial's CPU
 * time is the workers' alone. Its funding account holds enough for any size of run (the fixture's
 * $50,000 would run out); the manifest's card ids are the fixture's active cards.
 */
export async function paymentsSandbox(options: Pick<SandboxOptions, 'faults'> = {}): Promise<RunningSandbox> {
  const seed = JSON.parse(await readFile(fixturePath('ctpayer', 'sandbox.json'), 'utf8')) as { accounts: { fundingBalanceCents: number }[] };
  for (const account of seed.accounts) account.fundingBalanceCents = 1e12;
  return startSandbox('ctpayer', { port: 0, seed, rateLimit: null, ...options });
}

/**
 * One project trial: the rows are queued as a batch (paused, under a prefix of the trial's own),
 * then a `stipend worker` process pays them through the sandbox. Every payment must have reached
 * the sandbox exactly once; the sandbox is reset and the keys removed afterwards.
 */
export async function workerTrial(options: {
  sandbox: RunningSandbox;
  dir: string;
  redisUrl: string;
  account: AccountSettings;
  rows: readonly ManifestRow[];
  /** Looks at Redis once the batch is settled and the worker stopped, before the trial's keys are removed. */
  settled?: (context: StipendContext, batchId: string) => Promise<void>;
}): Promise<Measure> {
  const prefix = newPrefix();
  const configFile = await writeBenchConfig(options.dir, { prefix, redisUrl: options.redisUrl, baseUrl: options.sandbox.url, account: options.account });
  const config = await loadConfig({ path: configFile });
  const context = await openContext(config);
  const account = config.accounts[0]!;
  const queue = new Queue(queueName(account), { connection: context.redis, prefix: bullPrefix(prefix, account) });
  try {
    await queue.pause();
    const batchId = await enqueueBatch(context, account, options.rows);
    const measure = await besideRedis(context.redis, () => besideSandbox(() => trial('execute', { configFile, batchIds: [batchId] })));
    const loads = options.sandbox.transactions().length;
    if (loads !== options.rows.length) throw new Error(`the sandbox applied ${loads} loads for ${options.rows.length} payments`);
    await options.settled?.(context, batchId);
    return measure;
  } finally {
    options.sandbox.reset();
    await queue.close();
    await deleteKeys(context.redis, prefix);
    await context.close();
    await rm(configFile);
  }
}

/**
 * One trial across accounts: one CT Payer account per sandbox (a1, a2, …), each with a batch of the
 * rows queued paused, on one Redis or a cluster; then one `stipend worker` process pays them all.
 * extra.busiest: the most requests any one account's sandbox received in a sliding window of the
 * account's rate limit; extra.redisCpuMs: every Redis server's CPU meanwhile. Every payment must
 * have reached its sandbox exactly once.
 */
export async function accountsTrial(options: {
  sandboxes: RunningSandbox[];
  dir: string;
  redis: { url: string } | { cluster: string[] };
  account: AccountSettings & { rateLimit: { max: number; perMs: number } };
  rows: readonly ManifestRow[];
}): Promise<Measure> {
  const prefix = newPrefix();
  const { credentials } = sandboxConfig().accounts.ctpayer!.sandbox!;
  const accounts = Object.fromEntries(options.sandboxes.map((sandbox, i) => [`a${i + 1}`, { baseUrl: sandbox.url, credentials, ...options.account }]));
  const redis = 'url' in options.redis ? { url: options.redis.url } : { cluster: { nodes: options.redis.cluster } };
  const raw = { redis: { prefix, ...redis }, accounts: { ctpayer: accounts } };
  const configFile = join(options.dir, `${prefix}.config.json`);
  await writeFile(configFile, JSON.stringify(raw));
  const config = await loadConfig({ path: configFile });
  const context = await openContext(config);
  const queues = config.accounts.map((account) => new Queue(queueName(account), { connection: context.redis, prefix: bullPrefix(prefix, account) }));
  try {
    await Promise.all(queues.map((queue) => queue.pause()));
    const batchIds: string[] = [];
    for (const account of config.accounts) batchIds.push(await enqueueBatch(context, account, options.rows));
    const measure = await besideRedis(context.redis, () => trial('execute', { configFile, batchIds }));
    const { max, perMs } = options.account.rateLimit;
    let busiest = 0;
    for (const sandbox of options.sandboxes) {
      const loads = sandbox.transactions().length;
      if (loads !== options.rows.length) throw new Error(`a sandbox applied ${loads} loads for ${options.rows.length} payments`);
      busiest = Math.max(busiest, windowCounts(sandbox.requests().map((r) => r.at), { max, perMs }).busiest);
    }
    if (busiest > max) process.stderr.write(`an account received ${busiest} requests in ${perMs} ms, over its limit of ${max}\n`);
    return { ...measure, extra: { ...measure.extra, busiest } };
  } finally {
    for (const sandbox of options.sandboxes) sandbox.reset();
    await Promise.all(queues.map((queue) => queue.close()));
    await deleteKeys(context.redis, prefix);
    await context.close();
    await rm(configFile);
  }
}

/**
 * One baseline trial: the same jobs, queued paused, run by a bare BullMQ worker doing nothing, or,
 * with `call`, making each job's provider call (the account's adapter over HTTP to the sandbox) and
 * nothing else: no ledger, rate-limit gate or logs. That is the floor of any program that pays.
 */
export async function bareWorkerTrial(options: {
  redisUrl: string;
  concurrency: number;
  rows: readonly ManifestRow[];
  call?: { sandbox: RunningSandbox; dir: string; account: AccountSettings };
}): Promise<Measure> {
  const prefix = newPrefix();
  const name = 'bench';
  const redis = connectRedis({ redisUrl: options.redisUrl });
  const queue = new Queue(name, { connection: redis, prefix: bareBullPrefix(prefix) });
  try {
    await queue.pause();
    const batchId = newBatchId();
    const payments = options.rows.flatMap((row) => (row.ok ? [row.payment] : []));
    // The jobs' options (attempts, backoff, retention) are those of a default account.
    const account = resolveConfig(benchConfig({ prefix, redisUrl: options.redisUrl, baseUrl: 'http://127.0.0.1:9' }), 'bench').accounts[0]!;
    for (let i = 0; i < payments.length; i += 500) {
      await queue.addBulk(payments.slice(i, i + 500).map((p) => paymentJob(account, { batchId, paymentId: p.paymentId, amountCents: p.amountCents, fields: p.fields as Record<string, string> })));
    }
    const args = { redisUrl: options.redisUrl, prefix, queue: name, jobs: payments.length, concurrency: options.concurrency };
    if (!options.call) return await besideRedis(redis, () => trial('bullmq-worker', args));
    const { sandbox, dir } = options.call;
    const configFile = await writeBenchConfig(dir, { prefix, redisUrl: options.redisUrl, baseUrl: sandbox.url, account: options.call.account });
    try {
      const measure = await besideRedis(redis, () => besideSandbox(() => trial('bullmq-worker', { ...args, configFile })));
      const loads = sandbox.transactions().length;
      if (loads !== payments.length) throw new Error(`the sandbox applied ${loads} loads for ${payments.length} calls`);
      return measure;
    } finally {
      sandbox.reset();
      await rm(configFile);
    }
  } finally {
    await queue.close();
    await deleteKeys(redis, prefix);
    await redis.quit();
  }
}

/** The trial's measure with this process's CPU time during it (extra.sandboxCpuMs): it does nothing else meanwhile, so that is the sandbox's. */
async function besideSandbox(run: () => Promise<Measure>): Promise<Measure> {
  const before = process.cpuUsage();
  const measure = await run();
  const used = process.cpuUsage(before);
  return { ...measure, extra: { ...measure.extra, sandboxCpuMs: (used.user + used.system) / 1000 } };
}

/**
 * The trial's measure with the Redis servers' CPU time during it (extra.redisCpuMs): the one server,
 * or every node of a cluster, replicas included. It counts whatever else they did meanwhile.
 */
async function besideRedis(redis: RedisClient, run: () => Promise<Measure>): Promise<Measure> {
  const servers = redis instanceof Cluster ? (await redis.ping(), redis.nodes('all')) : [redis];
  const cpuMs = async () => {
    const infos = await Promise.all(servers.map((server) => server.info('cpu')));
    const seconds = (info: string, name: string) => Number(new RegExp(`${name}:([\\d.]+)`).exec(info)?.[1] ?? 0);
    return infos.reduce((sum, info) => sum + (seconds(info, 'used_cpu_user') + seconds(info, 'used_cpu_sys')) * 1000, 0);
  };
  const before = await cpuMs();
  const measure = await run();
  return { ...measure, extra: { ...measure.extra, redisCpuMs: (await cpuMs()) - before } };
}
