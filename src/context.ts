import { ArchiveIndex } from './ledger/archive-index.js';
import { ArchiveReader } from './ledger/archive-reader.js';
import type { RedisClient } from './redis/connection.js';
import type { ResolvedConfig } from './config/load.js';
import { BatchRows } from './ledger/batch-rows.js';
import { BatchLedger } from './ledger/batches.js';
import { PaymentLedger } from './ledger/payments.js';
import { assertRedisReachable, connectRedis } from './redis/connection.js';
import { RedisKeys } from './redis/keys.js';

/** What every command needs: the configuration and one Redis connection for the ledger. */
export interface StipendContext {
  config: ResolvedConfig;
  redis: RedisClient;
  /** Every Redis key the program uses (redis/keys.ts). */
  keys: RedisKeys;
  batches: BatchLedger;
  rows: BatchRows;
  /** Batches moved out of Redis into files (archive/): the ledger and the audit trail read them through it. */
  archive: ArchiveReader;
  /** The payment ledger of one account. */
  payments(account: { provider: string; name: string }): PaymentLedger;
  close(): Promise<void>;
}

export async function openContext(config: ResolvedConfig): Promise<StipendContext> {
  await assertRedisReachable(config);
  const redis = connectRedis(config);
  const keys = new RedisKeys(config.prefix);
  const archive = new ArchiveReader(new ArchiveIndex(redis, keys), config.archive.dir);
  const batches = new BatchLedger(redis, keys, archive);
  return {
    config,
    redis,
    keys,
    batches,
    rows: new BatchRows(redis, keys, batches, archive),
    archive,
    payments: (account) => new PaymentLedger(redis, keys, account.provider, account.name, archive, config.rememberPaymentsMs),
    close: async () => {
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}
