import type { Redis } from 'ioredis';
import type { Account, ResolvedConfig } from './config/load.js';
import { BatchRows } from './ledger/batch-rows.js';
import { BatchLedger } from './ledger/batches.js';
import { LedgerKeys } from './redis/keys.js';
import { PaymentLedger } from './ledger/payments.js';
import { assertRedisReachable, connectRedis } from './queue/redis.js';

/** What every command needs: the configuration and one Redis connection for the ledger. */
export interface StipendContext {
  config: ResolvedConfig;
  redis: Redis;
  keys: LedgerKeys;
  batches: BatchLedger;
  rows: BatchRows;
  /** The payment ledger of one account. */
  payments(account: Pick<Account, 'provider' | 'name'>): PaymentLedger;
  close(): Promise<void>;
}

export async function openContext(config: ResolvedConfig): Promise<StipendContext> {
  await assertRedisReachable(config.redisUrl);
  const redis = connectRedis(config.redisUrl);
  const keys = new LedgerKeys(config.prefix);
  return {
    config,
    redis,
    keys,
    batches: new BatchLedger(redis, keys),
    rows: new BatchRows(redis, keys),
    payments: (account) => new PaymentLedger(redis, keys, account.provider, account.name, config.rememberPaymentsMs),
    close: async () => {
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}
