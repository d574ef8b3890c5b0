import { readdir, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { archiveOlderThan } from '../../src/archive/archive-old.js';
import { personHere } from '../../src/audit/actor.js';
import { loadConfig } from '../../src/config/load.js';
import { openContext, type StipendContext } from '../../src/context.js';
import { deleteKeys } from '../../src/queue/cleanup.js';
import { ctpayerManifest } from '../generate.js';
import { fmt, type RowContext, type RowResult, scaled } from '../harness.js';
import { totalBytes, usedMemory, weighKeys } from '../redis-weight.js';
import { settledBatch } from '../settled-batch.js';
import { benchCluster } from '../redis-servers.js';
import { benchConfig, newPrefix } from '../stack.js';

const GOAL_BYTES = 100;
/** Payments are remembered a bit over a year: each compact holder then carries its expiry. */
const REMEMBER_DAYS = 400;

/**
 * Row 9: what a settled payment leaves in Redis before and after `stipend archive`. A 100,000-row
 * batch is recorded and settled through the ledger (as in row 6; its unknown rows then resolved by a
 * person, since a batch waiting for one stays), every key under the trial's prefix weighed (MEMORY
 * USAGE … SAMPLES 0), the batch archived, and the keys weighed again. Per payment; the archive's
 * files on disk too. On one Redis (the goal), and on a Redis Cluster where the provider has a second
 * account, so that each payment id is also reserved in the provider's slot.
 */
export async function archiveFootprintRow(context: RowContext): Promise<RowResult> {
  const payments = scaled(100_000, context.scale);
  const file = await ctpayerManifest(context.dir, payments);
  const single = await footprint(context, { path: file, rows: payments }, { url: context.redisUrl }, []);
  const cluster = await benchCluster(context.dir);
  const shared = await footprint(context, { path: file, rows: payments }, cluster.target, ['second']).finally(() => cluster.stop());
  return {
    row: `9. Redis per archived payment, ${fmt(payments)} payments`,
    project: `${fmt(single.after, 1)} B per payment after archiving (compact holders ${fmt(single.compactHolders)} of ${fmt(payments)}), against ${fmt(single.before)} B before`,
    baseline: `the settled batch before archiving: ${fmt(single.before)} B per payment`,
    ratio: undefined,
    goal: `≤ ${fmt(GOAL_BYTES)} B per archived payment`,
    met: single.after <= GOAL_BYTES,
    notes: [
      `MEMORY USAGE (SAMPLES 0) of every key under the trial's prefix (the batch index's few hundred bytes per batch included); INFO used_memory fell by ${fmt(single.usedFreed)} B per payment meanwhile`,
      `archived in ${fmt(single.seconds, 2)} s (${fmt(payments / single.seconds)} payments/s, the report files written with it); ${fmt(single.diskBytes, 1)} B per payment on disk, gzipped`,
      `each compact holder carries its expiry (rememberPaymentsDays ${REMEMBER_DAYS}); without one (remembered for ever) it is 14 bytes shorter`,
      `on a Redis Cluster (three masters, three replicas) where CT Payer has a second account, every payment id is also reserved in the provider's slot: ${fmt(shared.after, 1)} B per payment after archiving (of which ${fmt(shared.reservationsAfter, 1)} B the compact reservations), against ${fmt(shared.before)} B before (${fmt(shared.reservationsBefore, 1)} B the reservations)`,
    ],
  };
}

/** One batch settled, weighed, archived and weighed again on `target`, the provider's `otherAccounts` configured beside its account. */
async function footprint(context: RowContext, file: { path: string; rows: number }, target: { url: string } | { cluster: string[] }, otherAccounts: string[]) {
  const prefix = newPrefix();
  const archiveDir = join(context.dir, `${prefix}-archive`);
  const configFile = join(context.dir, `${prefix}.config.json`);
  const config = benchConfig({ prefix, redisUrl: context.redisUrl, baseUrl: 'http://127.0.0.1:9' });
  const main = config.accounts.ctpayer!.main!;
  await writeFile(configFile, JSON.stringify({
    ...config,
    redis: { prefix, ...('url' in target ? { url: target.url } : { cluster: { nodes: target.cluster } }) },
    accounts: { ctpayer: { main, ...Object.fromEntries(otherAccounts.map((name) => [name, main])) } },
    rememberPaymentsDays: REMEMBER_DAYS,
    archive: { dir: archiveDir },
  }));
  const stipend = await openContext(await loadConfig({ path: configFile }));
  try {
    const account = stipend.config.accounts.find((a) => a.name === 'main')!;
    const batchId = await settledBatch(stipend, account, file, otherAccounts);
    await resolveUnknowns(stipend, batchId);
    await stipend.batches.markSettled(batchId);
    const owner = await stipend.batches.ownerOf(batchId);
    const usedBefore = await usedMemory(stipend.redis);
    const before = await weighKeys(stipend.redis, stipend.keys, owner, batchId);
    const started = process.hrtime.bigint();
    const [outcome] = await archiveOlderThan(stipend, 0);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    if (!outcome?.archived) throw new Error(`the batch was not archived: ${outcome?.archived === false ? outcome.reason : 'no outcome'}`);
    const after = await weighKeys(stipend.redis, stipend.keys, owner, batchId);
    const usedAfter = await usedMemory(stipend.redis);
    const folder = join(archiveDir, outcome.folder);
    let diskBytes = 0;
    for (const name of await readdir(folder)) diskBytes += (await stat(join(folder, name))).size;
    return {
      before: totalBytes(before) / file.rows,
      after: totalBytes(after) / file.rows,
      reservationsBefore: before.reservations / file.rows,
      reservationsAfter: after.reservations / file.rows,
      compactHolders: outcome.compactHolders,
      usedFreed: (usedBefore - usedAfter) / file.rows,
      seconds,
      diskBytes: diskBytes / file.rows,
    };
  } finally {
    await deleteKeys(stipend.redis, prefix);
    await stipend.close();
    await rm(configFile);
    await rm(archiveDir, { recursive: true, force: true });
  }
}

/** A person's verdict, paid, on each unknown payment of the batch (settledBatch leaves 1 in 200 unknown). */
async function resolveUnknowns(stipend: StipendContext, batchId: string): Promise<void> {
  const batch = await stipend.batches.get(batchId);
  const ledger = stipend.payments({ provider: batch.provider, name: batch.account });
  for await (const page of stipend.rows.pages(batchId)) {
    const refs = page.flatMap((row) => (row.kind === 'payment' ? [{ batchId, paymentId: row.paymentId }] : []));
    const statuses = await ledger.readMany(refs, ['status']);
    for (const [i, { status }] of statuses.entries()) if (status === 'unknown') await ledger.resolve(refs[i]!, { paid: `R${i}` }, personHere());
  }
}
