import { existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { assertRedisReachable, connectRedis, describeTarget, type RedisClient } from '../redis/connection.js';
import { writeBatchReport } from '../batches/report.js';
import { submitManifest } from '../batches/submit.js';
import { waitForBatch } from '../batches/wait.js';
import { type ResolvedConfig, resolveConfig } from '../config/load.js';
import { sandboxConfig, sandboxProviders } from '../config/sandbox-accounts.js';
import { openContext } from '../context.js';
import { refuseWritingIntoInbox } from '../ingest/inbox-out.js';
import { createLogger } from '../log.js';
import { formatDollars } from '../money.js';
import { fixturePath } from '../package-root.js';
import { deleteKeys } from '../queue/cleanup.js';
import { redactUrl } from '../redact-url.js';
import { writeTaxExport } from '../reports/tax-export.js';
import { startSandbox, type RunningSandbox } from '../sandbox/index.js';
import { readRedisSettings } from '../sending/durability.js';
import type { WorkerSide } from '../worker-side.js';
import { describeBatch } from './output.js';
import { demoRedis } from './private-redis.js';

/** What the demo leaves behind until it ends: its keys under `prefix`, and the running sandboxes by provider. */
export interface DemoLeftovers {
  redis: RedisClient;
  prefix: string;
  sandboxes: ReadonlyMap<string, RunningSandbox>;
}

/**
 * `stipend demo`: everything in one process against a real Redis. Starts the sandboxes (on free
 * ports) and workers, pays fixtures/<provider>/demo.csv through each, writes the reports, and checks
 * each report's paid rows against the transactions the sandbox actually applied. With no Redis
 * answering, it runs a private one when it can (private-redis.ts).
 *
 * It uses a fresh key prefix and removes its Redis keys afterwards, so it can run again and again
 * (the demo manifests carry fixed payment ids, which a real installation would never pay twice).
 * Its workers log at LOG_LEVEL, else warnings only.
 *
 * `inspect`, for tests, sees everything the demo left (its Redis keys, the sandboxes and what they
 * handed out) before it is stopped and deleted.
 */
export async function demoCommand(options: { out?: string }, workerSide: WorkerSide, inspect?: (demo: DemoLeftovers) => Promise<void>): Promise<number> {
  const out = options.out ?? 'reports/demo';
  await refuseWritingIntoInbox(out);
  const prefix = `stipend-demo-${randomBytes(3).toString('hex')}`;
  // What was started, the latest first: stopped in that order however far the demo got.
  const teardown: (() => Promise<unknown>)[] = [];
  let mismatches = 0;
  try {
    const sandboxes = new Map<string, RunningSandbox>();
    teardown.unshift(() => Promise.all([...sandboxes.values()].map((s) => s.close())));
    for (const provider of sandboxProviders()) sandboxes.set(provider, await startSandbox(provider, { port: 0 }));
    const ports = Object.fromEntries([...sandboxes].map(([provider, s]) => [provider, s.port]));
    const configured = resolveConfig({ ...sandboxConfig(ports), redis: { prefix } }, 'demo (built-in sandboxes)');
    // A configured cluster is used as it is: the private server stands in for one Redis only.
    const redis = configured.redisCluster === undefined ? await demoRedis(configured.redisUrl, (line) => process.stdout.write(`${line}\n`)) : undefined;
    if (redis !== undefined) teardown.unshift(() => redis.stop());
    const config = await waitingForReplicas(redis === undefined ? configured : { ...configured, redisUrl: redis.url });
    const context = await openContext(config);
    teardown.unshift(() => context.close());
    teardown.unshift(() => deleteKeys(context.redis, prefix));
    const workers = await workerSide.startWorkers(context, config.accounts, createLogger({ defaultLevel: 'warn' }));
    teardown.unshift(() => workers.close());
    process.stdout.write(`stipend demo: Redis ${describeTarget(config)}, sandboxes ${[...sandboxes].map(([p, s]) => `${p} ${redactUrl(s.url)}`).join(', ')}\n\n`);
    for (const account of config.accounts) {
      const file = fixturePath(account.provider, 'demo.csv');
      if (!existsSync(file)) continue;
      const result = await submitManifest(context, { file, account });
      if (!result.accepted) throw new Error(`the demo manifest ${file} does not validate`);
      const batch = await waitForBatch(context, result.batchId);
      const report = await writeBatchReport(context, result.batchId, out);
      const applied = sandboxes.get(account.provider)!.transactions().filter((t) => t.kind === 'load');
      const appliedCents = applied.reduce((sum, t) => sum + t.amountCents, 0);
      const matches = applied.length === batch.n_paid && appliedCents === batch.c_paid;
      if (!matches) mismatches += 1;
      process.stdout.write(
        [
          `${account.adapter.name}: batch ${result.batchId} from ${file}`,
          `  ${describeBatch(batch)}`,
          `  sandbox applied ${applied.length} payments ($${formatDollars(appliedCents)}): ${matches ? 'matches the report' : 'DOES NOT MATCH the report'}`,
          `  report: ${report.csv}`,
          '',
        ].join('\n'),
      );
    }
    const year = new Date().getUTCFullYear();
    const tax = await writeTaxExport(context, { year: String(year), out: join(out, `tax-${year}.csv`) });
    const participants = tax.participants.filter((p) => p.identifiedBy === 'participant_id').length;
    process.stdout.write(`tax year ${year} per participant across the five providers (${participants} participants, reimbursements apart): ${tax.file}\n\n`);
    await inspect?.({ redis: context.redis, prefix, sandboxes });
  } finally {
    // Every step runs even if one fails (a private Redis left running would keep this process alive).
    let failure: unknown;
    for (const step of teardown) await step().catch((error: unknown) => (failure ??= error));
    if (failure !== undefined) throw failure;
  }
  process.stdout.write(mismatches === 0 ? 'every paid row matches a payment the sandbox applied, cent for cent\n' : `${mismatches} batch(es) did not reconcile\n`);
  return mismatches === 0 ? 0 : 1;
}

/**
 * The demo's Redis as it is: where replicas are connected (a cluster's are), each sending mark waits
 * for all of them (redis.waitReplicas), as docs/scaling-out.md asks of a real configuration, so the
 * demo pays without accepting any loss a failover could cause.
 */
async function waitingForReplicas(config: ResolvedConfig): Promise<ResolvedConfig> {
  await assertRedisReachable(config);
  const redis = connectRedis(config);
  try {
    const { connectedReplicas } = await readRedisSettings(redis, describeTarget(config), undefined);
    return connectedReplicas === 0 ? config : { ...config, durability: { ...config.durability, waitReplicas: connectedReplicas } };
  } finally {
    await redis.quit().catch(() => redis.disconnect());
  }
}
