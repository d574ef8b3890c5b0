import { Queue } from 'bullmq';
import { Cluster, type Redis } from 'ioredis';
import type { StipendContext } from '../context.js';
import { UsageError } from '../errors.js';
import { SCHEDULED_RUN_JOB, SCHEDULES_QUEUE } from '../ingest/schedules.js';
import { type BatchOwner, ownerName } from '../ledger/batches.js';
import { queueName } from '../queue/payment-job.js';
import { compareStreamIds, storedEntries } from '../audit/audit-trail.js';

/**
 * `stipend upgrade-keys`: a ledger written before keys carried their account's hash tag (one Redis,
 * `<prefix>:batch:<id>`, `<prefix>:pay:<provider>:<account>:<batch>:<payment>`, one audit stream…)
 * renamed into today's layout (redis/keys.ts), so its batches are read, reported and held against a
 * second payment as before. Every step can run again: a run cut short is finished by the next.
 *
 * Workers must be stopped and the old queues empty: their jobs would be paid by nobody. What is
 * transient is dropped (rate-limit windows, pauses, provider sessions, console sessions and
 * uploads: people sign in again); schedules move to the new schedules queue.
 */

export interface UpgradeSummary {
  batches: number;
  payments: number;
  holders: number;
  auditEntries: number;
  schedules: number;
}

const SCAN = 1000;

export async function upgradeKeyLayout(context: StipendContext): Promise<UpgradeSummary> {
  const { redis, keys, config } = context;
  if (redis instanceof Cluster) throw new UsageError('upgrade-keys renames a single Redis\'s keys: versions before the key layout never ran on Redis Cluster, so there is nothing to upgrade here');
  const P = config.prefix;
  const oldBull = `${P}:bull`;
  await refuseWhileBusy(context, redis, oldBull);

  const summary: UpgradeSummary = { batches: 0, payments: 0, holders: 0, auditEntries: 0, schedules: 0 };
  const owners = new Map<string, BatchOwner>();
  // The batches first: the index says which account holds each, which the other keys need.
  const scored = await redis.zrange(`${P}:batches`, '0', '-1', 'WITHSCORES');
  for (let i = 0; i < scored.length; i += 2) {
    const batchId = scored[i]!;
    const old = `${P}:batch:${batchId}`;
    const [provider, account] = await redis.hmget(old, 'provider', 'account');
    const owner = provider && account ? { provider, account } : await context.batches.ownerOf(batchId).catch(() => undefined);
    if (owner === undefined) continue;
    owners.set(batchId, owner);
    await redis.multi()
      .zadd(keys.batches(), scored[i + 1]!, batchId)
      .hset(keys.batchAccounts(), batchId, ownerName(owner))
      .sadd(keys.accounts(), ownerName(owner))
      .exec();
    await renameIfThere(redis, old, keys.batch(owner.provider, owner.account, batchId));
    await renameIfThere(redis, `${old}:rows`, keys.batchRows(owner.provider, owner.account, batchId));
    await renameIfThere(redis, `${old}:claims`, keys.batchClaims(owner.provider, owner.account, batchId));
    await renameIfThere(redis, `${old}:report-folder`, keys.reportFolder(owner.provider, owner.account, batchId));
    summary.batches += 1;
  }
  for (const batchId of await redis.smembers(`${P}:batches:open`)) {
    const owner = owners.get(batchId);
    if (owner) await redis.sadd(keys.openBatches(owner.provider, owner.account), batchId);
  }
  await redis.del(`${P}:batches:open`, `${P}:batches`);

  // `<provider>:<account>:<rest>`: neither a provider nor an account name holds a colon.
  summary.payments = await renameScanned(redis, `${P}:pay:`, ([provider, account, batchId, ...id]) => keys.payment(provider!, account!, batchId!, id.join(':')), 3);
  summary.holders = await renameScanned(redis, `${P}:holder:`, ([provider, account, ...id]) => keys.holder(provider!, account!, id.join(':')), 2);
  await renameScanned(redis, `${P}:batch-of-file:`, ([provider, account, sha]) => keys.batchOfFile(provider!, account!, sha!), 2);
  await renameScanned(redis, `${P}:metrics:provider-timings:`, ([provider, account]) => keys.providerTimings(provider!, account!), 1);
  summary.auditEntries = await splitAudit(context, redis, `${P}:audit`, owners);

  // The console's people keep their passwords; their sessions end.
  const people = await redis.smembers(`${P}:people`);
  if (people.length > 0) await redis.sadd(keys.people(), ...people);
  await redis.del(`${P}:people`);
  await renameScanned(redis, `${P}:person:`, ([name]) => keys.person(name!), 0);
  await renameIfThere(redis, `${P}:console:secret`, keys.consoleSecret());
  for (const transient of [`${P}:console:*`, `${P}:rate:*`, `${P}:pause:*`, `${P}:session:*`, `${P}:durability:probe`]) await deleteScanned(redis, transient);

  summary.schedules = await moveSchedules(context, oldBull);
  for (const name of await oldQueueNames(redis, oldBull)) {
    const queue = new Queue(name, { connection: redis, prefix: oldBull });
    await queue.obliterate({ force: true });
    await queue.close();
  }
  return summary;
}

/** Refused while a worker is connected to an old or a new queue, or an old queue holds jobs. */
async function refuseWhileBusy(context: StipendContext, redis: Redis, oldBull: string): Promise<void> {
  for (const account of context.config.accounts) {
    const queue = new Queue(queueName(account), { connection: redis, prefix: context.keys.bull(account.provider, account.name) });
    const workers = await queue.getWorkersCount().finally(() => queue.close());
    if (workers > 0) throw new UsageError(`workers are connected to queue ${queueName(account)}: stop every worker, watcher and dashboard first; nothing was renamed`);
  }
  for (const name of await oldQueueNames(redis, oldBull)) {
    const queue = new Queue(name, { connection: redis, prefix: oldBull });
    try {
      const counts = await queue.getJobCounts('active', 'waiting', 'delayed', 'prioritized', 'waiting-children');
      const jobs = Object.values(counts).reduce((sum, n) => sum + n, 0);
      if (name !== SCHEDULES_QUEUE && jobs > 0) throw new UsageError(`queue ${name} still holds ${jobs} jobs: let the workers of the earlier version finish them (stipend status), stop them, then run upgrade-keys; nothing was renamed`);
      if ((await queue.getWorkersCount()) > 0) throw new UsageError(`workers are still connected to queue ${name}: stop every worker, watcher and dashboard first; nothing was renamed`);
    } finally {
      await queue.close();
    }
  }
}

/** The old layout's queues (one per account, and the schedules), by the keys BullMQ keeps for each. */
async function oldQueueNames(redis: Redis, oldBull: string): Promise<string[]> {
  const names = new Set<string>();
  for (const key of await scanAll(redis, `${oldBull}:*`)) {
    const name = key.slice(oldBull.length + 1).split(':')[0]!;
    if (name === SCHEDULES_QUEUE || name.startsWith('pay.')) names.add(name);
  }
  return [...names];
}

/** Each schedule of the old schedules queue, set again on the new one (its id, pattern and run). */
async function moveSchedules(context: StipendContext, oldBull: string): Promise<number> {
  const old = new Queue(SCHEDULES_QUEUE, { connection: context.redis, prefix: oldBull });
  const moved = new Queue(SCHEDULES_QUEUE, { connection: context.redis, prefix: context.keys.schedulesBull() });
  try {
    const schedulers = await old.getJobSchedulers(0, -1, true);
    for (const scheduler of schedulers) {
      await moved.upsertJobScheduler(scheduler.key, { pattern: scheduler.pattern ?? undefined, ...(scheduler.tz ? { tz: scheduler.tz } : {}) }, { name: SCHEDULED_RUN_JOB, data: scheduler.template?.data });
    }
    return schedulers.length;
  } finally {
    await old.close();
    await moved.close();
  }
}

/** The one audit stream split into one per account and the people's, every entry keeping its id (its time). */
async function splitAudit(context: StipendContext, redis: Redis, oldKey: string, owners: Map<string, BatchOwner>): Promise<number> {
  const { keys } = context;
  let moved = 0;
  for await (const { id, fields } of storedEntries(redis, oldKey)) {
    const owner = fields.batch_id ? owners.get(fields.batch_id) : undefined;
    const target = owner === undefined ? keys.peopleAudit() : keys.audit(owner.provider, owner.account);
    // A run cut short copied this entry already: the stream's ids only grow.
    const [last] = await redis.xrevrange(target, '+', '-', 'COUNT', 1);
    if (last === undefined || compareStreamIds(last[0], id) < 0) await redis.xadd(target, id, ...Object.entries(fields).flat());
    moved += 1;
  }
  await redis.del(oldKey);
  return moved;
}

/** Renames every key starting with `start`, its rest split at its first `colons` colons, to `to(parts)`; returns how many. */
async function renameScanned(redis: Redis, start: string, to: (parts: string[]) => string, colons: number): Promise<number> {
  let renamed = 0;
  for (const key of await scanAll(redis, `${start}*`)) {
    const rest = key.slice(start.length);
    const parts: string[] = [];
    let from = 0;
    for (let i = 0; i < colons; i += 1) {
      const at = rest.indexOf(':', from);
      if (at < 0) break;
      parts.push(rest.slice(from, at));
      from = at + 1;
    }
    parts.push(rest.slice(from));
    if (parts.length !== colons + 1) continue;
    await redis.rename(key, to(parts));
    renamed += 1;
  }
  return renamed;
}

async function renameIfThere(redis: Redis, from: string, to: string): Promise<void> {
  if ((await redis.exists(from)) === 1) await redis.rename(from, to);
}

async function deleteScanned(redis: Redis, pattern: string): Promise<void> {
  const found = await scanAll(redis, pattern);
  for (let i = 0; i < found.length; i += SCAN) await redis.del(...found.slice(i, i + SCAN));
}

async function scanAll(redis: Redis, pattern: string): Promise<string[]> {
  const found: string[] = [];
  let cursor = '0';
  do {
    const [next, page] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', SCAN);
    cursor = next;
    found.push(...page);
  } while (cursor !== '0');
  return found;
}
