import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { sandboxConfig } from '../src/config/sandbox-accounts.js';
import type { ConfigFile } from '../src/config/schema.js';
import type { Account } from '../src/config/load.js';
import type { StipendContext } from '../src/context.js';
import { newBatchId } from '../src/ledger/batches.js';
import type { ManifestRow } from '../src/manifest/index.js';
import { enqueueRows } from '../src/queue/enqueue.js';

export type AccountSettings = Omit<NonNullable<ConfigFile['accounts']['ctpayer']>[string], 'baseUrl' | 'credentials'>;

/** A Redis key prefix of the trial's own, removed (deleteKeys) once the trial is over. */
export const newPrefix = (): string => `bench-${randomBytes(4).toString('hex')}`;

/** The BullMQ prefix of a baseline's bare queue: under the bench's prefix, as BullMQ is used alone. */
export const bareBullPrefix = (prefix: string): string => `${prefix}:bull`;

export interface BenchSettings {
  prefix: string;
  redisUrl: string;
  baseUrl: string;
  account?: AccountSettings;
}

/** The configuration of one CT Payer account ("main", the sandbox seed's credentials) under `prefix`. */
export function benchConfig(options: BenchSettings): ConfigFile {
  const { credentials } = sandboxConfig().accounts.ctpayer!.sandbox!;
  return {
    redis: { url: options.redisUrl, prefix: options.prefix },
    accounts: { ctpayer: { main: { baseUrl: options.baseUrl, credentials, ...options.account } } },
  };
}

/** Writes benchConfig(options) for a trial process to load; returns its path. */
export async function writeBenchConfig(dir: string, options: BenchSettings): Promise<string> {
  const file = join(dir, `${options.prefix}.config.json`);
  await writeFile(file, JSON.stringify(benchConfig(options)));
  return file;
}

/**
 * What `stipend run` does with an accepted manifest once it is validated: the batch record, then
 * every row claimed, recorded and queued (ledger/, queue/enqueue.ts), then the batch marked enqueued.
 */
export async function enqueueBatch(context: StipendContext, account: Account, rows: readonly ManifestRow[]): Promise<string> {
  const batchId = newBatchId();
  await context.batches.create({ batchId, provider: account.provider, account: account.name, source: 'bench.csv', sha256: batchId, rowsTotal: rows.length });
  await enqueueRows(context, account, batchId, iterate(rows), { addJobs: true });
  await context.batches.markEnqueued(batchId);
  return batchId;
}

async function* iterate<T>(items: readonly T[]): AsyncGenerator<T> {
  yield* items;
}

/** A manifest's rows, validated, in memory: what the enqueue rows are measured from. */
export async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const all: T[] = [];
  for await (const item of items) all.push(item);
  return all;
}
