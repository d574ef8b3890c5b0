import type { Account } from '../config/load.js';
import type { StipendContext } from '../context.js';
import { EnqueueBusyError } from './enqueue-errors.js';
import { tryLock } from '../redis/lock.js';

/**
 * How long a hold on a file lasts without renewal. Renewed every third of it while its holder works,
 * so only a holder that died (or stalled that long) loses it; should it still be working then, the
 * batch's compare-and-set progress (BatchLedger.recordChunk) stops it from recording a row twice.
 */
const HOLD_MS = 30_000;

export interface FileHold {
  release(): Promise<void>;
}

/**
 * One enqueue per file at a time: a manifest (by SHA-256) is queued, resumed or abandoned by one
 * process while it holds this, for every account of the provider. Released only by its owner.
 * Throws EnqueueBusyError, with `busy` as its message, when another process holds it.
 */
export async function holdFile(context: StipendContext, provider: string, sha256: string, busy: () => Promise<string>): Promise<FileHold> {
  const lock = await tryLock(context.redis, context.keys.enqueueLock(provider, sha256), HOLD_MS);
  if (!lock) throw new EnqueueBusyError(await busy());
  // A renewal that fails (Redis briefly away) is tried again at the next tick.
  const renewal = setInterval(() => void lock.renew().catch(() => {}), HOLD_MS / 3);
  return {
    async release() {
      clearInterval(renewal);
      await lock.release();
    },
  };
}

/** The hold a submitter takes before it creates or resumes the file's batch for `account`. */
export function holdFileToSubmit(context: StipendContext, account: Account, sha256: string, source: string): Promise<FileHold> {
  return holdFile(context, account.provider, sha256, async () => {
    const batch = await context.batches.interruptedFor(account.provider, account.name, sha256);
    const as = batch ? ` as batch ${batch.batch_id} (follow it with \`stipend status ${batch.batch_id}\`)` : '';
    return `${source} is being queued by another submitter right now${as}; nothing was done here`;
  });
}
