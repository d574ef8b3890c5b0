import { type Account, findAccount } from '../config/load.js';
import type { StipendContext } from '../context.js';
import type { BatchRecord } from '../ledger/batches.js';

/** The account a recorded batch was paid through, from the current configuration. */
export function accountOf(context: StipendContext, batch: BatchRecord): Account {
  return findAccount(context.config, batch.provider, batch.account);
}

