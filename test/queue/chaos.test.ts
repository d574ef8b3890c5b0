import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { submitManifest } from '../../src/batches/submit.js';
import { waitForBatch } from '../../src/batches/wait.js';
import { BatchLedger, isSettled } from '../../src/ledger/batches.js';
import { writeReconciliation } from '../../src/reports/reconciliation.js';
import { redisServerInstalled } from '../helpers/private-redis.js';
import { startRedisCluster } from '../helpers/redis-cluster.js';
import { startReplicatedRedis } from '../helpers/replicated-redis.js';
import { parseReport, startStack, type TestStack } from '../helpers/stack.js';
import { spawnWorker, type WorkerProcess } from '../helpers/worker-process.js';

/**
 * The promise finance teams buy, under fire: 2,000 payments across all five sandboxes while three
 * worker processes are killed with SIGKILL at random moments and restarted, and stalled (SIGSTOP for
 * longer than their job locks, then SIGCONT, so that another worker takes their payments up while
 * their calls are still in flight and answer late). Redis fails once per run, on each of two setups
 * (workers wait for a replica's copy of each sending mark, redis.waitReplicas):
 *   - one Redis, a primary with a replica: the replica stops receiving for a while, then Redis fails
 *     over to the replica's older copy, which lacks the primary's last writes;
 *   - Redis Cluster, three masters with a replica each: the master of the accounts' slots is killed
 *     mid-batch, its replica takes over, and the killed one rejoins as the new master's replica. Every sandbox answers some requests with its retry-later error, 503 and 429
 * with Retry-After, dropped connections (before and after applying the payment), and slow answers.
 * At the end every row is final, nothing was applied twice, every paid row is one applied payment,
 * and `unknown` is left only where the provider can neither be asked nor safely resent (VirtualRx,
 * ONTRAPORT) and the call really was cut off.
 */

const PROVIDERS = ['ctpayer', 'ptapi', 'ontraport', 'clientpay', 'virtualrx'] as const;
type Provider = (typeof PROVIDERS)[number];
const PREFIX: Record<Provider, string> = { ctpayer: 'ct', ptapi: 'pt', ontraport: 'op', clientpay: 'cp', virtualrx: 'vx' };
const MANIFEST: Record<Provider, { header: string; row: (i: number, payee: number) => string }> = {
  ctpayer: { header: 'payment_id,cardId,description', row: (i, p) => `ct-${i},${1000000000 + p},Chaos stipend` },
  ptapi: { header: 'payment_id,cardholderId,customerId,programId,description', row: (i, p) => `pt-${i},CH${String(p).padStart(4, '0')},C200,PR300,Chaos stipend` },
  ontraport: { header: 'payment_id,contact_id,invoice_id,gateway_id,product_id', row: (i, p) => `op-${i},${129000 + p},1,1720,1` },
  clientpay: { header: 'payment_id,payeeToken,referenceNumber,description', row: (i, p) => `cp-${i},PT-${String(p).padStart(4, '0')},REF-${i},Chaos stipend` },
  virtualrx: { header: 'payment_id,CustId,ProgramId,ClaimReferenceNumber,ClientGroupID', row: (i, p) => `vx-${i},${20230226000 + p},7311,CLM-${i},GRP-1` },
};
// A distinct amount per row makes the amount name one payment in the sandbox's journal.
const FIRST_CENTS = 1000;

const CONCURRENCY = 6;
const TIMEOUT_MS = 2000;
const LOCK_MS = 1500;
// A payment's next run waits while its last call may still be under way: the call's timeout plus
// the job's slack for recording it (callWindowMs in src/sending/guarded-send.ts). A stall shorter than this
// (but longer than the lock) makes that run wait; a longer one lets it take the payment over.
const TAKEOVER_MS = TIMEOUT_MS + 5000;
const KILLS = 8;
const STALLS = 6;
// The replica stops receiving this long before the failover.
const REPLICA_PAUSE_MS = 2000;

const installed = redisServerInstalled();

/** A Redis setup the chaos runs on: what the stack connects to, and the one failure it suffers. */
interface RedisUnderFire {
  stack: { redisUrl?: string; cluster?: string[] };
  /** The failure, once a quarter of the payments are final; returns what shows it happened as meant. */
  fail(stack: TestStack, batchIds: string[], finalCount: () => Promise<number>): Promise<Record<string, number>>;
  expectFailed(evidence: Record<string, number>): void;
  close(): Promise<void>;
}

async function replicatedRedis(dir: string): Promise<RedisUnderFire> {
  const redis = await startReplicatedRedis(dir);
  return {
    stack: { redisUrl: redis.url },
    async fail(stack, batchIds, finalCount) {
      redis.pauseReplica();
      await sleep(REPLICA_PAUSE_MS);
      const evidence = { finalBefore: await finalCount(), finalAfter: 0 };
      // Counted on the restored copy before the workers reach it: they would settle payments at once.
      await redis.failover(async (url) => {
        const direct = new Redis(url);
        try {
          const restored = await new BatchLedger(direct, stack.context.keys, stack.context.archive).getMany(batchIds);
          evidence.finalAfter = restored.reduce((n, b) => n + (b?.final ?? 0), 0);
        } finally {
          direct.disconnect();
        }
      });
      return evidence;
    },
    expectFailed: (evidence) => expect(evidence.finalAfter, 'the failover restored an older copy').toBeLessThan(evidence.finalBefore!),
    close: () => redis.close(),
  };
}

async function clusterRedis(dir: string): Promise<RedisUnderFire> {
  const cluster = await startRedisCluster(dir);
  return {
    stack: { cluster: cluster.seeds },
    async fail(stack) {
      const master = await cluster.masterOf(stack.context.keys.batch('ctpayer', 'main', 'x'));
      await cluster.kill(master.port);
      const successor = await cluster.waitForFailover(master.port);
      // Back as the successor's replica, so that WAIT 1 can be met again in those slots.
      await cluster.restart(master.port);
      return { killed: master.port, successor: successor.port };
    },
    expectFailed: (evidence) => expect(evidence.successor, 'a replica took the killed master\'s slots').not.toBe(evidence.killed),
    close: () => cluster.stop(),
  };
}

const SETUPS = [
  { target: 'one Redis failing over to an older copy', perProvider: 400, start: replicatedRedis },
  { target: 'Redis Cluster losing a master', perProvider: 150, start: clusterRedis },
];

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const between = (min: number, max: number) => min + Math.random() * (max - min);
const alive = (w: WorkerProcess) => w.child.exitCode === null && w.child.signalCode === null;

describe.skipIf(!installed).each(SETUPS)('on $target', ({ perProvider: PER_PROVIDER, start }) => {
  let dir: string;
  let redis: RedisUnderFire;
  let stack: TestStack;
  /** The workers' configuration: the stack's, with redis.waitReplicas. */
  let workerConfig: string;
  let workers: WorkerProcess[] = [];
  /** Every worker process of the run, killed ones too, and what happened when: for the history of a payment applied twice. */
  const everyWorker: WorkerProcess[] = [];
  const timeline: { at: number; what: string }[] = [];
  const happened = (what: string) => timeline.push({ at: Date.now(), what });

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'stipend-chaos-redis-'));
    redis = await start(dir);
    stack = await startStack({
      providers: [...PROVIDERS],
      ...redis.stack,
      account: { rateLimit: { max: 100, perMs: 1000, marginMs: 0 }, concurrency: CONCURRENCY, retry: { attempts: 20, backoffMs: 50 }, timeoutMs: TIMEOUT_MS },
      workers: { lockDurationMs: LOCK_MS, sweepIntervalMs: 1000 },
    });
    for (const sandbox of Object.values(stack.sandboxes)) {
      sandbox.setFaults([
        { kind: 'retryable', rate: 0.03, retryAfterSeconds: 1 },
        { kind: 'unavailable', rate: 0.01, retryAfterSeconds: 1 },
        { kind: 'throttle', rate: 0.01, retryAfterSeconds: 1 },
        { kind: 'drop-before', rate: 0.02 },
        { kind: 'drop-after', rate: 0.02 },
        // Slow answers keep calls in flight when a worker stalls, and widen every race around them.
        { kind: 'latency', rate: 0.1, latencyMs: 400 },
      ]);
    }
    const raw = JSON.parse(await readFile(stack.configFile, 'utf8'));
    raw.redis.waitReplicas = 1;
    workerConfig = join(stack.dir, 'wait-replicas.config.json');
    await writeFile(workerConfig, JSON.stringify(raw));
    workers = await Promise.all([0, 1, 2].map(() => spawnWorker(workerConfig)));
    everyWorker.push(...workers);
  }, 120_000);

  afterAll(async () => {
    // A stopped process takes SIGTERM only once it runs again.
    for (const w of workers) w.child.kill('SIGCONT');
    await Promise.all(workers.map((w) => w.stop()));
    await stack?.close();
    await redis?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });


  it(`pays ${PER_PROVIDER * PROVIDERS.length} payments through crashes, stalls, Redis failing and faults: all final, none twice, every paid row applied`, { timeout: 300_000 }, async () => {
    const batchIds = new Map<Provider, string>();
    for (const provider of PROVIDERS) {
      const { header, row } = MANIFEST[provider];
      const lines = Array.from({ length: PER_PROVIDER }, (_, i) => `${row(i, (i % 20) + 1)},${FIRST_CENTS + i}`);
      const file = await stack.manifest(`${provider}-chaos.csv`, [`${header},amount_cents`, ...lines].join('\n'));
      const submitted = await submitManifest(stack.context, { file, account: stack.account(provider) });
      if (!submitted.accepted) throw new Error(`${provider} manifest refused: ${submitted.refusal ?? JSON.stringify(submitted.scan.rowProblems)}`);
      batchIds.set(provider, submitted.batchId);
    }
    let settled = false;
    const batches = () => Promise.all([...batchIds.values()].map((id) => stack.context.batches.get(id)));
    const allSettled = async () => (settled ||= (await batches()).every(isSettled));
    const finalCount = async () => (await batches()).reduce((n, b) => n + b.final, 0);

    let kills = 0;
    const killing = (async () => {
      while (kills < KILLS && !(await allSettled())) {
        await sleep(between(800, 2300));
        const victim = Math.floor(Math.random() * workers.length);
        const killed = workers[victim]!;
        killed.child.kill('SIGKILL');
        happened(`SIGKILL worker ${everyWorker.indexOf(killed)}`);
        await killed.stop();
        workers[victim] = await restartedWorker();
        everyWorker.push(workers[victim]!);
        kills += 1;
      }
    })();

    // Stalls alternate between shorter than a takeover (the next run waits for the stalled call) and
    // longer (another worker takes the payment over, and the stalled call answers after it). Two loops
    // each stall one worker at a time; a stall whose worker is killed meanwhile ends there.
    const stalls: { ms: number; callsInFlight: number }[] = [];
    const stalled = new Set<WorkerProcess>();
    const stalling = async (first: number) => {
      for (let n = first; n < STALLS && !(await allSettled()); n += 2) {
        await sleep(between(500, 2000));
        const candidates = workers.filter((w) => alive(w) && !stalled.has(w));
        const victim = candidates[Math.floor(Math.random() * candidates.length)];
        if (!victim) continue;
        const ms = n % 2 === 0 ? between(LOCK_MS * 2, TAKEOVER_MS - 1000) : between(TAKEOVER_MS + 1000, TAKEOVER_MS + 3000);
        stalled.add(victim);
        victim.child.kill('SIGSTOP');
        happened(`SIGSTOP worker ${everyWorker.indexOf(victim)}`);
        stalls.push({ ms: Math.round(ms), callsInFlight: callsInFlight(victim) });
        await sleep(ms);
        if (alive(victim)) victim.child.kill('SIGCONT');
        happened(`SIGCONT worker ${everyWorker.indexOf(victim)}`);
        stalled.delete(victim);
      }
    };

    // Once a quarter of the payments are final, Redis fails as the setup does.
    let failure: Record<string, number> = {};
    const restoring = (async () => {
      while ((await finalCount()) < (PER_PROVIDER * PROVIDERS.length) / 4) await sleep(100);
      happened('Redis fails');
      failure = await redis.fail(stack, [...batchIds.values()], finalCount);
      happened('Redis back');
    })();
    await Promise.all([killing, stalling(0), stalling(1), restoring]);
    for (const batchId of batchIds.values()) await waitForBatch(stack.context, batchId, { pollMs: 200 });

    // Everything is read, and the run's figures printed, before the first assertion can stop the test.
    const outcomes = new Map<Provider, { rows: Record<string, string>[]; appliedTimes: Map<string, number>; conflicts: number }>();
    const evidence: Record<string, unknown> = { payments: PER_PROVIDER * PROVIDERS.length, kills, stalls, failure };
    for (const provider of PROVIDERS) {
      const report = await writeReconciliation(stack.context, batchIds.get(provider)!, stack.dir);
      const rows = parseReport(await readFile(report.csv, 'utf8'));
      // What the sandbox applied, per payment id (the amount names the row).
      const appliedTimes = new Map<string, number>();
      for (const t of stack.sandboxes[provider]!.transactions().filter((t) => t.kind === 'load')) {
        const id = `${PREFIX[provider]}-${t.amountCents - FIRST_CENTS}`;
        appliedTimes.set(id, (appliedTimes.get(id) ?? 0) + 1);
      }
      // Two different paid answers for one payment would mean it was applied twice.
      const { n_conflict: conflicts } = await stack.context.batches.get(batchIds.get(provider)!);
      outcomes.set(provider, { rows, appliedTimes, conflicts });
      const unknown = rows.filter((r) => r.status === 'unknown');
      evidence[provider] = {
        statuses: countBy(rows.map((r) => r.status!)),
        appliedTwice: [...appliedTimes.values()].filter((times) => times > 1).length,
        conflicts,
        unknownCodes: countBy(unknown.map((r) => r.provider_code!)),
      };
    }
    console.info(`chaos: ${JSON.stringify(evidence)}`);
    // A payment applied twice: when each load was applied, and what every worker logged of it, among the run's events.
    for (const provider of PROVIDERS) {
      for (const [id, times] of outcomes.get(provider)!.appliedTimes) {
        if (times < 2) continue;
        const loads = stack.sandboxes[provider]!.transactions().filter((t) => t.kind === 'load' && `${PREFIX[provider]}-${t.amountCents - FIRST_CENTS}` === id);
        const history = [
          ...timeline,
          ...loads.map((t) => ({ at: Date.parse(t.at), what: `applied ${t.id}` })),
          ...everyWorker.flatMap((w, n) => w.logs.filter((l) => l.paymentId === id).map((l) => ({ at: Number(l.time), what: `worker ${n}: ${JSON.stringify(l)}` }))),
        ].sort((a, b) => a.at - b.at);
        console.info(`chaos: ${provider} ${id} applied ${times} times:\n${history.map((h) => `  ${new Date(h.at).toISOString()} ${h.what}`).join('\n')}`);
      }
    }

    for (const [provider, { rows, appliedTimes, conflicts }] of outcomes) {
      const sandbox = stack.sandboxes[provider]!;
      const status = new Map(rows.map((r) => [r.payment_id!, r.status!]));
      const paid = rows.filter((r) => r.status === 'paid').map((r) => r.payment_id!);
      const unknown = rows.filter((r) => r.status === 'unknown');

      expect(rows, provider).toHaveLength(PER_PROVIDER);
      expect(rows.filter((r) => !['paid', 'declined', 'failed', 'unknown'].includes(r.status!)), provider).toEqual([]);
      expect([...appliedTimes].filter(([, times]) => times > 1), `${provider}: applied twice`).toEqual([]);
      expect(conflicts, `${provider}: conflicting paid answers`).toBe(0);
      expect(paid.filter((id) => !appliedTimes.has(id)), `${provider}: paid but not applied`).toEqual([]);
      const appliedNotPaid = [...appliedTimes.keys()].filter((id) => status.get(id) !== 'paid');
      expect(appliedNotPaid.filter((id) => status.get(id) !== 'unknown'), `${provider}: applied but neither paid nor unknown`).toEqual([]);

      if (provider === 'virtualrx' || provider === 'ontraport') {
        // Unknown only where a call was cut off: an answer lost on the wire, or cut short by a worker
        // killed or stalled mid-call, or its answer's record lost in the failover (each of these with
        // at most CONCURRENCY of this account's calls in flight per worker).
        expect(unknown.filter((r) => r.provider_code !== 'NO_RESPONSE' && r.provider_code !== 'INTERRUPTED'), provider).toEqual([]);
        const lostOnTheWire = unknown.filter((r) => r.provider_code === 'NO_RESPONSE').length;
        expect(lostOnTheWire, provider).toBeLessThanOrEqual(sandbox.requests().filter((r) => r.status === 0).length + stalls.length * CONCURRENCY);
        expect(unknown.filter((r) => r.provider_code === 'INTERRUPTED').length, provider).toBeLessThanOrEqual((kills + stalls.length + workers.length) * CONCURRENCY);
      } else {
        // Providers with an idempotency key or a lookup settle every doubt themselves.
        expect(unknown, provider).toEqual([]);
        expect([...appliedTimes.keys()].sort(), provider).toEqual([...paid].sort());
      }
      expect(rows.filter((r) => r.status === 'failed'), provider).toEqual([]);
    }
    expect(kills).toBeGreaterThanOrEqual(3);
    expect(stalls.length).toBeGreaterThanOrEqual(3);
    expect(stalls.some((s) => s.ms > TAKEOVER_MS && s.callsInFlight > 0)).toBe(true);
    redis.expectFailed(failure);
  });

  /** A worker started again as a supervisor would: once more if it exits at start (Redis mid-failover). */
  async function restartedWorker(): Promise<WorkerProcess> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await spawnWorker(workerConfig);
      } catch (error) {
        if (attempt === 10) throw error;
        await sleep(500);
      }
    }
  }
});

/** The payments a worker's log shows sending and not yet answered: its calls in flight. */
function callsInFlight(worker: WorkerProcess): number {
  const open = new Set<unknown>();
  for (const line of worker.logs) {
    if (line.msg === 'payment sending') open.add(line.paymentId);
    else if (line.status !== 'sending' && line.paymentId !== undefined) open.delete(line.paymentId);
  }
  return open.size;
}

function countBy(values: string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const v of values) counts[v] = (counts[v] ?? 0) + 1;
  return counts;
}
