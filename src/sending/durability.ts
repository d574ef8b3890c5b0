import type { Redis } from 'ioredis';
import type { Account } from '../config/load.js';
import type { DurabilityStatement } from '../config/schema.js';
import type { StipendContext } from '../context.js';
import { RedisDurabilityError } from '../errors.js';
import type { Logger } from '../log.js';
import { connectRedis, dataNodes, describeTarget, type RedisClient, type RedisTarget } from '../redis/connection.js';
import { redactUrlsIn } from '../redact-url.js';

/**
 * Whether a `sending` mark survives what Redis can lose after acknowledging it (docs/reliability.md).
 * A lost mark makes a payment that was sent look `queued` again, and it is sent again: harmless only
 * where the provider itself refuses the resend (Capabilities.resendSafeWithoutLedger). Two losses:
 *
 *   restart from the server's own files: guarded by appendfsync always (the reply comes after the
 *     fsync), or on Redis >= 7.2 with AOF and appendfsync everysec by WAITAOF 1 0 after each mark;
 *   failover to a replica that lacks the last writes: guarded by WAIT N after each mark
 *     (redis.waitReplicas); relevant wherever replicas are connected.
 *
 * Workers read the server's settings at start and refuse accounts that could pay twice.
 */

export interface RedisSettings {
  version: string;
  appendonly: boolean;
  appendfsync: DurabilityStatement['appendfsync'];
  /** no-appendfsync-on-rewrite yes: no fsync at all while a child rewrites the AOF or saves, even with `always`. */
  noFsyncOnRewrite: boolean;
  maxmemoryPolicy: string;
  connectedReplicas: number;
  /** The server answered CONFIG, or it refused and the configuration's redis.durability stood in. */
  source: 'server' | 'statement';
}

/** What every confirmation waits for after a tiny write of its own. */
export interface ConfirmPlan {
  waitaof: boolean;
  waitReplicas: number;
}

type Decided = Pick<Account, 'provider' | 'name' | 'acceptRedisWriteLoss'> & { adapter: { capabilities: { resendSafeWithoutLedger: boolean } } };

export interface DurabilityDecision<A extends Decided> {
  plan: ConfirmPlan;
  /** Accounts whose marks are confirmed before each request leaves. */
  confirming: A[];
  /** Accounts paying although a loss remains possible (acceptRedisWriteLoss), with what could lose it. */
  accepted: { account: A; risks: string[] }[];
  /** The one line workers refuse with, naming the accounts, what was read and what to change. */
  refusal: string | undefined;
}

/**
 * INFO and CONFIG GET, or the configuration's statement where CONFIG is refused; refuses with neither.
 * On a cluster, of every master, and what the weakest of them keeps: each holds some accounts' marks.
 * `where`: the target as messages name it (describeTarget).
 */
export async function readRedisSettings(redis: RedisClient, where: string, statement: DurabilityStatement | undefined): Promise<RedisSettings> {
  const each = await Promise.all((await dataNodes(redis)).map((node) => readServerSettings(node, where, statement)));
  return each.reduce(weakest);
}

async function readServerSettings(redis: Redis, where: string, statement: DurabilityStatement | undefined): Promise<RedisSettings> {
  const server = parseInfo(await redis.info('server'));
  const replication = parseInfo(await redis.info('replication'));
  const base = { version: server.redis_version ?? '0', connectedReplicas: Number(replication.connected_slaves ?? 0) };
  let config: Record<string, string>;
  try {
    const names = ['appendonly', 'appendfsync', 'no-appendfsync-on-rewrite', 'maxmemory-policy'];
    // One name per CONFIG GET: several in one call needs Redis 7.
    const replies = await Promise.all(names.map((name) => redis.config('GET', name) as Promise<string[]>));
    config = Object.fromEntries(replies.map(([name, value]) => [name, value]));
  } catch (error) {
    if (!statement) {
      throw new RedisDurabilityError(
        `Redis at ${where} refuses CONFIG GET (${String((error as Error).message).split('\n')[0]}), so workers cannot tell whether it keeps acknowledged writes: state what your Redis guarantees in the configuration's redis.durability ({ "appendonly": true, "appendfsync": "always", "maxmemoryPolicy": "noeviction" } as your provider documents them)`,
      );
    }
    return { ...base, ...statement, noFsyncOnRewrite: false, source: 'statement' };
  }
  return {
    ...base,
    appendonly: config.appendonly === 'yes',
    appendfsync: config.appendfsync as RedisSettings['appendfsync'],
    noFsyncOnRewrite: config['no-appendfsync-on-rewrite'] === 'yes',
    maxmemoryPolicy: config['maxmemory-policy'] ?? '',
    source: 'server',
  };
}

const FSYNC_STRENGTH: Record<RedisSettings['appendfsync'], number> = { always: 2, everysec: 1, no: 0 };

/** What two servers together guarantee: the less of each. */
function weakest(a: RedisSettings, b: RedisSettings): RedisSettings {
  return {
    version: atLeast(a.version, ...majorMinor(b.version)) ? b.version : a.version,
    appendonly: a.appendonly && b.appendonly,
    appendfsync: FSYNC_STRENGTH[a.appendfsync] <= FSYNC_STRENGTH[b.appendfsync] ? a.appendfsync : b.appendfsync,
    noFsyncOnRewrite: a.noFsyncOnRewrite || b.noFsyncOnRewrite,
    maxmemoryPolicy: a.maxmemoryPolicy === b.maxmemoryPolicy ? a.maxmemoryPolicy : [a.maxmemoryPolicy, b.maxmemoryPolicy].find((p) => p !== 'noeviction')!,
    connectedReplicas: Math.min(a.connectedReplicas, b.connectedReplicas),
    source: a.source === 'server' && b.source === 'server' ? 'server' : 'statement',
  };
}

function majorMinor(version: string): [number, number] {
  const [major = 0, minor = 0] = version.split('.').map(Number);
  return [major, minor];
}

/** Per account: confirm each mark, pay at an accepted risk, or refuse. */
export function decideDurability<A extends Decided>(settings: RedisSettings, options: { waitReplicas: number | undefined }, accounts: A[], url: string): DurabilityDecision<A> {
  const fsyncAlways = settings.appendonly && settings.appendfsync === 'always' && !settings.noFsyncOnRewrite;
  // WAITAOF only where Redis fsyncs on its own (everysec): with appendfsync no, that it ever confirms is unverified.
  const waitaof = !fsyncAlways && settings.appendonly && settings.appendfsync === 'everysec' && atLeast(settings.version, 7, 2);
  const plan: ConfirmPlan = { waitaof, waitReplicas: options.waitReplicas ?? 0 };
  const read = `${settings.source === 'server' ? 'read from the server' : 'stated in redis.durability, since the server refuses CONFIG'}: ${describe(settings)}`;
  const all = (problem: string, fix: string) => ({ plan, confirming: [], accepted: [], refusal: refusal(accounts, url, problem, read, fix) });

  // Not an account's choice: an evicted ledger key loses a payment whatever the provider.
  if (settings.maxmemoryPolicy !== 'noeviction') {
    return all(`can evict the ledger (maxmemory-policy ${settings.maxmemoryPolicy})`, 'set maxmemory-policy noeviction');
  }
  // Every confirmation would time out and no payment would ever leave.
  if (plan.waitReplicas > settings.connectedReplicas) {
    return all(`cannot confirm sending marks: redis.waitReplicas is ${plan.waitReplicas} but ${settings.connectedReplicas} replica(s) are connected`, 'connect the replicas, or lower redis.waitReplicas');
  }
  const gaps: { risk: string; fix: string }[] = [];
  if (!fsyncAlways && !plan.waitaof) {
    gaps.push({
      risk: settings.appendonly ? `a restart loses writes not yet fsynced (appendfsync ${settings.appendfsync}${settings.noFsyncOnRewrite ? ', none during rewrites' : ''})` : 'a restart loses every write since the last snapshot (appendonly no)',
      fix: 'set appendonly yes and appendfsync always (and no-appendfsync-on-rewrite no), or run Redis 7.2 or later with appendonly yes and appendfsync everysec',
    });
  }
  if (options.waitReplicas === undefined && settings.connectedReplicas > 0) {
    gaps.push({ risk: 'a failover to a replica loses writes it has not received', fix: `set redis.waitReplicas (1 to ${settings.connectedReplicas}; 0 if no replica is ever promoted)` });
  }
  const exposed = accounts.filter((a) => !a.adapter.capabilities.resendSafeWithoutLedger);
  const refused = exposed.filter((a) => gaps.length > 0 && !a.acceptRedisWriteLoss);
  const confirm = plan.waitaof || plan.waitReplicas > 0;
  return {
    plan,
    confirming: confirm ? exposed : [],
    accepted: gaps.length > 0 ? exposed.filter((a) => a.acceptRedisWriteLoss).map((account) => ({ account, risks: gaps.map((g) => g.risk) })) : [],
    refusal:
      refused.length === 0
        ? undefined
        : refusal(refused, url, `can lose an acknowledged sending mark, and these providers would pay the resend it causes: ${gaps.map((g) => g.risk).join(', and ')}`, read, `${gaps.map((g) => g.fix).join('; ')}; or set acceptRedisWriteLoss: true on those accounts to accept paying twice`),
  };
}

/**
 * At worker start: reads the server's settings, refuses (RedisDurabilityError) or logs each risk
 * accepted, and hands each account its confirmDurable where its marks need one.
 */
export async function checkDurability(context: StipendContext, accounts: Account[], log: Logger) {
  const { durability: options } = context.config;
  const where = describeTarget(context.config);
  const settings = await readRedisSettings(context.redis, where, options.statement);
  const decision = decideDurability(settings, options, accounts, where);
  if (decision.refusal) throw new RedisDurabilityError(decision.refusal);
  for (const { account, risks } of decision.accepted) {
    log.warn({ provider: account.provider, account: account.name, risks }, `acceptRedisWriteLoss: ${account.provider}/${account.name} pays although Redis can lose a sending mark (${risks.join('; ')}): such a payment can be paid twice`);
  }
  // One per account: its probe is written in the account's slot, so on a cluster it reaches (and
  // its WAIT asks) the server that took the account's marks.
  const confirmers = await Promise.all(decision.confirming.map(async (account) => ({
    account,
    confirmer: await openConfirmer(context.config, context.keys.durabilityProbe(account.provider, account.name), decision.plan, options.confirmTimeoutMs),
  })));
  return {
    confirmFor: (account: Account) =>
      confirmers.find((c) => c.account.provider === account.provider && c.account.name === account.name)?.confirmer.confirmDurable,
    close: async () => {
      await Promise.all(confirmers.map(({ confirmer }) => confirmer.close()));
    },
  };
}

/**
 * confirmDurable() resolves true once every write any connection had acknowledged before the call is
 * durable as the plan says, false when that could not be confirmed within the timeout.
 *
 * WAIT and WAITAOF cover only the calling connection's own writes, and block it. So they run on a
 * connection of their own, after a tiny write of its own: the replication stream and the AOF are in
 * the order the server executed writes, so covering the probe covers every mark acknowledged before
 * it was sent. A probe counts only if its connection was up when it was sent and stayed up until its
 * answer: after a reconnect it may have reached another server than the one that took the marks.
 * Calls while a probe is on its way share the next one, so each probe+WAIT serves everyone waiting.
 */
export async function openConfirmer(target: RedisTarget, probeKey: string, plan: ConfirmPlan, timeoutMs: number): Promise<{ confirmDurable: () => Promise<boolean>; close(): Promise<void> }> {
  const redis = connectRedis(target);
  await redis.ping();
  let disconnects = 0;
  redis.on('close', () => disconnects++);
  // A cluster's node lost, or the slots moved (a failover): the probe may have reached another
  // server. The send's own recheck of its mark (guardedSend) covers the mark lost with a master.
  redis.on('-node', () => disconnects++);
  let sequence = 0;
  // A dead connection holds its commands; the answer is given up a little after the server's own timeout.
  const waits = Number(plan.waitaof) + Number(plan.waitReplicas > 0);
  const giveUpMs = waits * timeoutMs + 1000;

  async function probe(): Promise<boolean> {
    if (redis.status !== 'ready') return false;
    const seen = disconnects;
    const pipeline = redis.pipeline().set(probeKey, String(++sequence));
    if (plan.waitaof) pipeline.call('WAITAOF', 1, 0, timeoutMs);
    if (plan.waitReplicas > 0) pipeline.call('WAIT', plan.waitReplicas, timeoutMs);
    let timer: NodeJS.Timeout | undefined;
    const gaveUp = new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), giveUpMs)));
    try {
      const replies = await Promise.race([pipeline.exec(), gaveUp]);
      if (!replies || disconnects !== seen || replies.some(([error]) => error)) return false;
      const answers = replies.slice(1).map(([, value]) => value);
      const aofOk = !plan.waitaof || (answers.shift() as number[])[0]! >= 1;
      const replicasOk = plan.waitReplicas === 0 || (answers.shift() as number) >= plan.waitReplicas;
      return aofOk && replicasOk;
    } catch {
      return false;
    } finally {
      clearTimeout(timer);
    }
  }

  let current: Promise<boolean> | undefined;
  let next: Promise<boolean> | undefined;
  const start = (): Promise<boolean> => {
    const running = probe().finally(() => {
      if (current === running) current = undefined;
    });
    current = running;
    return running;
  };
  return {
    confirmDurable: () => {
      if (!current) return start();
      next ??= current.then(() => {
        next = undefined;
        return start();
      });
      return next;
    },
    close: async () => {
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}

function parseInfo(text: string): Record<string, string> {
  return Object.fromEntries(text.split(/\r?\n/).filter((line) => line.includes(':')).map((line) => [line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 1)]));
}

function atLeast(version: string, major: number, minor: number): boolean {
  const [a = 0, b = 0] = version.split('.').map(Number);
  return a > major || (a === major && b >= minor);
}

function describe(s: RedisSettings): string {
  const rewrite = s.noFsyncOnRewrite ? ', no-appendfsync-on-rewrite yes' : '';
  return `redis ${s.version}, appendonly ${s.appendonly ? 'yes' : 'no'}, appendfsync ${s.appendfsync}${rewrite}, maxmemory-policy ${s.maxmemoryPolicy}, ${s.connectedReplicas} connected replica(s)`;
}

function refusal(accounts: Decided[], url: string, problem: string, read: string, fix: string): string {
  return `workers refused for ${accounts.map((a) => `${a.provider}/${a.name}`).join(', ')}: Redis at ${redactUrlsIn(url)} ${problem} (${read}). To fix: ${fix}.`;
}
