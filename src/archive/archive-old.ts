import type { StipendContext } from '../context.js';
import { type BatchOwner, ownerName } from '../ledger/batches.js';
import { storedEntries } from '../audit/audit-trail.js';
import { tryLock } from '../redis/lock.js';
import { scripted } from '../redis/scripts.js';
import { openConfirmer } from '../sending/durability.js';
import { ArchiveBusyError } from '../ledger/archive-errors.js';
import { type ArchiveOutcome, type AuditByBatch, archiveBatch } from './archive-batch.js';

/** How long the run's lock lasts unless renewed (every third of it). */
const RUN_LOCK_MS = 60_000;

/**
 * Archives every settled batch submitted more than `olderThanMs` ago (by Redis's clock), one at a
 * time, and finishes any archive a crash cut short. Batches not yet archived whose time has come but
 * that must stay (a payment waits for a person) are in the outcome with the reason. `onBatch` hears
 * each outcome as it happens.
 */
export async function archiveOlderThan(
  context: StipendContext,
  olderThanMs: number,
  onBatch: (outcome: ArchiveOutcome) => void = () => {},
): Promise<ArchiveOutcome[]> {
  // One run at a time: two would write one batch's folder at once.
  const lock = await tryLock(context.redis, context.keys.archiveRunLock(), RUN_LOCK_MS);
  if (!lock) throw new ArchiveBusyError();
  let held = true;
  const renewal = setInterval(() => {
    lock.renew().then((renewed) => (held &&= renewed), () => (held = false));
  }, RUN_LOCK_MS / 3);
  try {
    return await archiveDue(context, olderThanMs, onBatch, () => held);
  } finally {
    clearInterval(renewal);
    await lock.release();
  }
}

async function archiveDue(context: StipendContext, olderThanMs: number, onBatch: (outcome: ArchiveOutcome) => void, held: () => boolean): Promise<ArchiveOutcome[]> {
  const [seconds, micros] = await context.redis.time();
  const ids = await context.batches.batchIds(Number(seconds) * 1000 + Math.floor(Number(micros) / 1000) - olderThanMs);
  const records = await context.batches.getMany(ids);
  // A record read from Redis, not from the archive's index: the batch is (still) in Redis.
  const due = ids.filter((_, i) => records[i] !== undefined && records[i]!.archived_at === undefined);
  const owners = new Map<string, BatchOwner>();
  for (const batchId of due) owners.set(batchId, await context.batches.ownerOf(batchId));
  const audit = await auditOfBatches(context, owners);
  const { waitReplicas, confirmTimeoutMs } = context.config.durability;
  const confirmer = waitReplicas === undefined || waitReplicas === 0 || due.length === 0
    ? undefined
    : await openConfirmer(context.config, context.keys.indexDurabilityProbe(), { waitaof: false, waitReplicas }, confirmTimeoutMs);
  try {
    const outcomes: ArchiveOutcome[] = [];
    for (const batchId of due) {
      // A run that lost its lock (stalled past it) stops: another may have started.
      if (!held()) throw new ArchiveBusyError();
      const outcome = await archiveBatch(context, batchId, audit, confirmer?.confirmDurable ?? (async () => true));
      outcomes.push(outcome);
      onBatch(outcome);
    }
    return outcomes;
  } finally {
    await confirmer?.close();
  }
}

/** The audit entries of these batches, each account's stream read once, oldest first. */
async function auditOfBatches(context: StipendContext, owners: Map<string, BatchOwner>): Promise<AuditByBatch> {
  const found: AuditByBatch = new Map();
  const accounts = new Map<string, BatchOwner>();
  for (const owner of owners.values()) accounts.set(ownerName(owner), owner);
  for (const owner of accounts.values()) {
    for await (const { id, fields } of storedEntries(context.redis, context.keys.audit(owner.provider, owner.account))) {
      const batchId = fields.batch_id;
      if (batchId === undefined || !owners.has(batchId)) continue;
      const entries = found.get(batchId) ?? [];
      entries.push({ id, fields });
      found.set(batchId, entries);
    }
  }
  return found;
}

/**
 * Frees the compact holders of archived payments whose `rememberPaymentsDays` has passed (they hold
 * nothing any more), every bucket of every account, and the compact reservations past theirs, every
 * bucket of every provider; returns how many. Atomic per bucket, so it needs no lock and may run
 * beside anything.
 */
export async function forgetExpiredHolders(context: StipendContext): Promise<number> {
  const owners = await context.batches.accounts();
  const providers = [...new Set(owners.map((owner) => owner.provider))];
  const bucketLists = [
    ...owners.map((owner) => context.keys.allArchivedHolders(owner.provider, owner.account)),
    ...providers.map((provider) => context.keys.allArchivedIdentities(provider)),
  ];
  let forgotten = 0;
  for (const buckets of bucketLists) {
    const counts = await Promise.all(buckets.map((bucket) => scripted(context.redis).forgetExpiredHolders(bucket)));
    forgotten += counts.reduce<number>((sum, n) => sum + Number(n), 0);
  }
  return forgotten;
}
