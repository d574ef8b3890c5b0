import { createReadStream } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { StipendContext } from '../context.js';
import type { BatchOwner } from '../ledger/batches.js';
import { storedPaymentId } from '../ledger/batch-rows.js';
import { readPipelined } from '../redis/read-pipelined.js';
import { scripted } from '../redis/scripts.js';
import { writeReconciliation } from '../reports/reconciliation.js';
import { batchFolder, writeBatchFolder } from '../ledger/archive-files.js';
import type { ArchivedBatch } from '../ledger/archive-index.js';
import { type ArchivedLedger, ledgerLine } from '../ledger/archive-ledger-file.js';

/**
 * Moves one settled batch out of Redis into its archive folder (archive-files.ts), in steps that a
 * crash may cut anywhere and a second run finishes:
 *
 *   1. beginArchive.lua marks the batch `archiving` if it is settled and out of the sweeper's hands;
 *      from then on no retry or reversal changes it.
 *   2. Every payment must be final for good: one unknown, reversing or reversal_unknown waits for a
 *      person, so the batch stays (unmarked) in Redis.
 *   3. The files are written (ledger.jsonl.gz, the reports, SHA256SUMS), flushed to disk, and the
 *      index records them: from here on readers use the files.
 *   4. The files are read back and checked, and what they hold leaves Redis: each payment record
 *      (its holder becoming a compact one where it must still stop a second payment,
 *      compactHolders.lua, and on a cluster its reservation in the provider's slot a compact one,
 *      compactIdentities.lua), the rows, the batch's audit entries, and last the batch record.
 *
 * The batch keeps its place in the index (its id, its account) and the file it came from
 * (batchOfFile): a batch is a few hundred bytes; its payments are what must not stay.
 */

export type ArchiveOutcome =
  | { batchId: string; archived: true; payments: number; compactHolders: number; folder: string }
  | { batchId: string; archived: false; reason: string };

/** Audit entries of the batches being archived, by batch: read from each account's stream once per run. */
export type AuditByBatch = Map<string, { id: string; fields: Record<string, string> }[]>;

/** Payment records read and removed per round trip. */
const PAGE = 500;

/** What keeps a batch in Redis: a payment whose outcome a person has yet to settle. */
const NOT_FOR_GOOD = new Set(['queued', 'sending', 'unknown', 'reversing', 'reversal_unknown']);

/**
 * `confirmIndex`: resolves true once the index's entries written so far are on the replicas
 * (redis.waitReplicas). On a cluster the index and the account live on different masters: a failover
 * of the index's master must not lose the entry of a batch whose keys already left its account's.
 */
export async function archiveBatch(context: StipendContext, batchId: string, audit: AuditByBatch, confirmIndex: () => Promise<boolean>): Promise<ArchiveOutcome> {
  const { redis, keys } = context;
  const owner = await context.batches.ownerOf(batchId);
  const batchKey = keys.batch(owner.provider, owner.account, batchId);
  let archived = await context.archive.index.get(batchId);
  if (archived === undefined) {
    const began = String(await scripted(redis).beginArchive(batchKey, keys.openBatches(owner.provider, owner.account), batchId, new Date().toISOString()));
    if (began !== 'ok') return { batchId, archived: false, reason: notReady(began) };
    try {
      const written = await writeArchive(context, owner, batchId, audit.get(batchId) ?? []);
      if (typeof written === 'string') {
        await redis.hdel(batchKey, 'archiving');
        return { batchId, archived: false, reason: written };
      }
      archived = written;
    } catch (error) {
      await redis.hdel(batchKey, 'archiving');
      throw error;
    }
    await context.archive.index.record(batchId, archived);
  }
  if (!(await confirmIndex())) throw new Error(`the archive of batch ${batchId} is recorded, but its replicas did not confirm it in time; nothing left Redis, and the next run goes on`);
  // What leaves Redis is what the files hold, read back and checked.
  const ledger = await context.archive.ledger(batchId, archived);
  const compactHolders = await removeFromRedis(context, owner, batchId, ledger);
  return { batchId, archived: true, payments: ledger.payments.size, compactHolders, folder: archived.folder };
}

function notReady(answer: string): string {
  if (answer === 'open') return 'the sweeper has not yet seen it settled';
  if (answer === 'unsettled') return 'not every payment is final';
  if (answer === 'missing') return 'its record is gone from Redis';
  return `it is ${answer.replace('_', ' ')}`;
}

/** Steps 2 and 3: the batch's folder, or why it stays in Redis. */
async function writeArchive(context: StipendContext, owner: BatchOwner, batchId: string, audit: { id: string; fields: Record<string, string> }[]): Promise<ArchivedBatch | string> {
  const { redis, keys } = context;
  const batch = await redis.hgetall(keys.batch(owner.provider, owner.account, batchId));
  const rows = await redis.lrange(keys.batchRows(owner.provider, owner.account, batchId), 0, -1);
  const paymentIds = rows.flatMap((entry) => (JSON.parse(entry) as { s: string }).s === 'payment' ? [storedPaymentId(entry)] : []);
  const ledger = context.payments({ provider: owner.provider, name: owner.account });
  const waiting = new Map<string, number>();
  for (let at = 0; at < paymentIds.length; at += PAGE) {
    const statuses = await ledger.readMany(paymentIds.slice(at, at + PAGE).map((paymentId) => ({ batchId, paymentId })), ['status']);
    for (const { status } of statuses) if (status === null || NOT_FOR_GOOD.has(status)) waiting.set(status ?? 'missing', (waiting.get(status ?? 'missing') ?? 0) + 1);
  }
  if (waiting.size > 0) return `a person has payments to settle first (${[...waiting].map(([status, n]) => `${n} ${status}`).join(', ')})`;

  const reports = await mkdtemp(join(tmpdir(), 'stipend-archive-'));
  try {
    const { dir } = await writeReconciliation(context, batchId, reports, { remember: false });
    const reportFiles = (await readdir(dir)).sort();
    const folder = batchFolder(owner, batchId);
    const archivedAt = new Date().toISOString();
    const sums = await writeBatchFolder(context.config.archive.dir, folder, [
      { name: 'ledger.jsonl.gz', content: () => ledgerLines(context, owner, batchId, batch, rows, paymentIds, audit) },
      ...reportFiles.map((name) => ({ name: `${name}.gz`, content: () => createReadStream(join(dir, name), 'utf8') as AsyncIterable<string> })),
    ]);
    return {
      folder, sums_sha256: sums, archived_at: archivedAt, record: batch,
      rows: rows.length, payments: paymentIds.length, audit: audit.length,
      ...(audit.length === 0 ? {} : { audit_first: audit[0]!.id, audit_last: audit.at(-1)!.id }),
    };
  } finally {
    await rm(reports, { recursive: true, force: true });
  }
}

/** ledger.jsonl.gz's lines (ledger-file.ts), the payment records read a page at a time as they are written. */
async function* ledgerLines(
  context: StipendContext, owner: BatchOwner, batchId: string, batch: Record<string, string>, rows: string[], paymentIds: string[],
  audit: { id: string; fields: Record<string, string> }[],
): AsyncGenerator<string> {
  yield ledgerLine({ t: 'batch', hash: batch });
  for (const stored of rows) yield ledgerLine({ t: 'row', stored });
  for (let at = 0; at < paymentIds.length; at += PAGE) {
    const keys = paymentIds.slice(at, at + PAGE).map((paymentId) => context.keys.payment(owner.provider, owner.account, batchId, paymentId));
    for (const hash of (await readPipelined(context.redis, keys.map((key) => ['hgetall', key]))) as Record<string, string>[]) yield ledgerLine({ t: 'payment', hash });
  }
  for (const { id, fields } of audit) yield ledgerLine({ t: 'audit', id, fields });
  yield ledgerLine({ t: 'end', rows: rows.length, payments: paymentIds.length, audit: audit.length });
}

/** Step 4; returns how many compact holders were written. Removing what is already gone changes nothing. */
async function removeFromRedis(context: StipendContext, owner: BatchOwner, batchId: string, ledger: ArchivedLedger): Promise<number> {
  const { redis, keys } = context;
  const { provider, account } = owner;
  const paymentIds = [...ledger.payments.keys()];
  let compact = 0;
  for (let at = 0; at < paymentIds.length; at += PAGE) {
    const ids = paymentIds.slice(at, at + PAGE);
    // On a cluster where the provider has other accounts, each id is also reserved in the provider's slot.
    const reservationKeys = ids.flatMap((id) => [keys.identity(provider, id), keys.archivedIdentities(provider, id)]);
    await scripted(redis).compactIdentities(reservationKeys.length, ...reservationKeys, ...ids);
    const paymentKeys = ids.flatMap((id) => [keys.payment(provider, account, batchId, id), keys.holder(provider, account, id), keys.archivedHolders(provider, account, id)]);
    compact += Number(await scripted(redis).compactHolders(paymentKeys.length, ...paymentKeys, batchId, ...ids));
  }
  const audit = keys.audit(provider, account);
  for (let at = 0; at < ledger.audit.length; at += PAGE) await redis.xdel(audit, ...ledger.audit.slice(at, at + PAGE).map((entry) => entry.id));
  await redis.del(keys.batchRows(provider, account, batchId), keys.batchClaims(provider, account, batchId), keys.reportFolder(provider, account, batchId));
  await redis.del(keys.batch(provider, account, batchId));
  return compact;
}
