import { setTimeout as sleep } from 'node:timers/promises';
import type { Account } from '../config/load.js';
import type { StipendContext } from '../context.js';
import { type BatchRecord, isSettled } from '../ledger/batches.js';
import { openAccountQueue } from '../queue/account-queue.js';

/** Polls the ledger until every accepted payment of the batch has a final status. */
export async function waitForBatch(
  context: StipendContext,
  batchId: string,
  options: { onProgress?: (batch: BatchRecord) => void; pollMs?: number; signal?: AbortSignal } = {},
): Promise<BatchRecord> {
  for (;;) {
    // A read that waits on Redis (away, reconnecting) does not hold up a stop.
    const batch = await abortable(context.batches.get(batchId), options.signal);
    options.onProgress?.(batch);
    if (isSettled(batch)) return batch;
    options.signal?.throwIfAborted();
    await sleep(options.pollMs ?? 250, undefined, { signal: options.signal });
  }
}

/** `work`, or the signal's reason as soon as it is aborted. */
function abortable<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return work;
  signal.throwIfAborted();
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}


/** How many workers listen on the account's payment queue now: none, and a waiting batch is not paid. */
export async function workersListening(context: StipendContext, account: Account): Promise<number> {
  const queue = openAccountQueue(context.redis, context.config.prefix, account);
  try {
    return await queue.getWorkersCount();
  } finally {
    await queue.close();
  }
}
