import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Account, resolveConfig } from '../../src/config/load.js';
import { sandboxConfig } from '../../src/config/sandbox-accounts.js';
import type { DurabilityStatement } from '../../src/config/schema.js';
import { decideDurability, openConfirmer, readRedisSettings, type RedisSettings } from '../../src/sending/durability.js';
import { RedisDurabilityError } from '../../src/errors.js';
import { redisServerInstalled } from '../helpers/private-redis.js';
import { startRedisServer, startReplicatedRedis, type RedisServer } from '../helpers/replicated-redis.js';

/**
 * Issue 11, path 3: which Redis settings let workers pay which accounts. Every row of the table is
 * read from a real redis-server started with the settings in question.
 */

const installed = redisServerInstalled();
let dir: string;
const servers: RedisServer[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'stipend-durability-'));
});
afterAll(async () => {
  await Promise.all(servers.map((s) => s.kill()));
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** A server with these arguments (on top of AOF + fsync always + noeviction), and a client on it. */
async function server(args: string[], primaryPort?: number): Promise<RedisServer> {
  const started = await startRedisServer(join(dir, `s${servers.length}`), { args, primaryPort });
  servers.push(started);
  return started;
}

async function settingsOf(started: RedisServer, statement?: DurabilityStatement): Promise<RedisSettings> {
  const redis = new Redis(started.url);
  try {
    return await readRedisSettings(redis, started.url, statement);
  } finally {
    redis.disconnect();
  }
}

/** CT Payer (refuses a resend itself), ONTRAPORT and VirtualRx (pay it), as configured. */
function accounts(accept: Partial<Record<string, boolean>> = {}, redis: object = {}): Account[] {
  const all = sandboxConfig().accounts as Record<string, { sandbox: { baseUrl: string; credentials: Record<string, string> } }>;
  const raw = {
    redis,
    accounts: Object.fromEntries(
      ['ctpayer', 'ontraport', 'virtualrx'].map((p) => [p, { main: { ...all[p]!.sandbox, acceptRedisWriteLoss: accept[p] ?? false } }]),
    ),
  };
  return resolveConfig(raw, 'test').accounts;
}

const names = (list: Account[]) => list.map((a) => `${a.provider}/${a.name}`);

describe.skipIf(!installed)('path 3: Redis settings → which accounts may pay', () => {
  it('appendonly yes + appendfsync always: every account pays, nothing to confirm per send', async () => {
    const settings = await settingsOf(await server([]));
    expect(settings).toMatchObject({ appendonly: true, appendfsync: 'always', maxmemoryPolicy: 'noeviction', connectedReplicas: 0, source: 'server' });
    const decision = decideDurability(settings, { waitReplicas: undefined }, accounts(), 'redis://x');
    expect(decision).toMatchObject({ refusal: undefined, confirming: [], accepted: [] });
  });

  it('appendfsync everysec on Redis 7.0: accounts whose provider pays a resend are refused, in one line that says what was read and what to change', async () => {
    const settings = await settingsOf(await server(['--appendfsync', 'everysec']));
    const decision = decideDurability(settings, { waitReplicas: undefined }, accounts(), 'redis://:secret@host:6379');
    expect(decision.refusal).toMatch(/^workers refused for ontraport\/main, virtualrx\/main: Redis at redis:\/\/\*\*\*@host:6379 can lose an acknowledged sending mark, and these providers would pay the resend it causes: a restart loses writes not yet fsynced/);
    expect(decision.refusal).toContain(`read from the server: redis ${settings.version}, appendonly yes, appendfsync everysec, maxmemory-policy noeviction, 0 connected replica(s)`);
    expect(decision.refusal).toContain('set appendonly yes and appendfsync always');
    expect(decision.refusal).toContain('acceptRedisWriteLoss: true');
    expect(decision.refusal).not.toContain('ctpayer');
    expect(decision.refusal).not.toContain('\n');
  });

  it('appendonly no (Debian default): refused unless the account accepts the risk, which is then listed for a warning', async () => {
    const settings = await settingsOf(await server(['--appendonly', 'no']));
    expect(decideDurability(settings, { waitReplicas: undefined }, accounts(), 'redis://x').refusal).toContain('a restart loses every write since the last snapshot (appendonly no)');
    const decision = decideDurability(settings, { waitReplicas: undefined }, accounts({ ontraport: true, virtualrx: true }), 'redis://x');
    expect(decision.refusal).toBeUndefined();
    expect(names(decision.accepted.map((a) => a.account))).toEqual(['ontraport/main', 'virtualrx/main']);
    expect(decision.confirming).toEqual([]);
  });

  it('the built-in sandbox accounts run on any Redis that does not evict, their reversals included', async () => {
    const settings = await settingsOf(await server(['--appendonly', 'no']));
    const sandbox = resolveConfig(sandboxConfig(), 'sandbox').accounts;
    expect(decideDurability(settings, { waitReplicas: undefined }, sandbox, 'redis://x').refusal).toBeUndefined();
    // No reversal carries a key: as reversals, every account (CT Payer too) is exposed.
    const keyless = sandbox.map((a) => ({ ...a, adapter: { capabilities: { resendSafeWithoutLedger: false } } }));
    expect(decideDurability(settings, { waitReplicas: undefined }, keyless, 'redis://x').refusal).toBeUndefined();
  });

  it('no-appendfsync-on-rewrite yes: appendfsync always does not count, since no fsync happens during rewrites', async () => {
    const settings = await settingsOf(await server(['--no-appendfsync-on-rewrite', 'yes']));
    expect(decideDurability(settings, { waitReplicas: undefined }, accounts(), 'redis://x').refusal).toContain('none during rewrites');
  });

  it('a maxmemory-policy that evicts refuses every account, CT Payer and accepted risks included', async () => {
    const settings = await settingsOf(await server(['--maxmemory-policy', 'allkeys-lru']));
    const decision = decideDurability(settings, { waitReplicas: undefined }, accounts({ ontraport: true, virtualrx: true }), 'redis://x');
    expect(decision.refusal).toMatch(/^workers refused for ctpayer\/main, ontraport\/main, virtualrx\/main: Redis at redis:\/\/x can evict the ledger \(maxmemory-policy allkeys-lru\) .*To fix: set maxmemory-policy noeviction\.$/);
  });

  it('CONFIG disabled (managed Redis): refused without a statement; with redis.durability the statement decides', async () => {
    const managed = await server(['--rename-command', 'CONFIG', '']);
    const refused = await settingsOf(managed).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(RedisDurabilityError);
    expect((refused as RedisDurabilityError).code).toBe('REDIS_NOT_DURABLE');
    expect((refused as Error).message).toMatch(/refuses CONFIG GET .*redis\.durability/);

    const stated = await settingsOf(managed, { appendonly: true, appendfsync: 'always', maxmemoryPolicy: 'noeviction' });
    expect(stated.source).toBe('statement');
    expect(decideDurability(stated, { waitReplicas: undefined }, accounts(), 'redis://x').refusal).toBeUndefined();
    const everysec = await settingsOf(managed, { appendonly: true, appendfsync: 'everysec', maxmemoryPolicy: 'noeviction' });
    expect(decideDurability(everysec, { waitReplicas: undefined }, accounts(), 'redis://x').refusal).toContain('stated in redis.durability, since the server refuses CONFIG');
  });

  it('connected replicas: a failover could lose marks unless redis.waitReplicas says how many must have each (0: never promoted)', async () => {
    const primary = await server([]);
    await server([], primary.port);
    const settings = await settingsOf(primary);
    expect(settings.connectedReplicas).toBe(1);
    expect(decideDurability(settings, { waitReplicas: undefined }, accounts(), 'redis://x').refusal).toContain('set redis.waitReplicas (1 to 1; 0 if no replica is ever promoted)');
    const waiting = decideDurability(settings, { waitReplicas: 1 }, accounts(), 'redis://x');
    expect(waiting.refusal).toBeUndefined();
    expect(waiting.plan).toEqual({ waitaof: false, waitReplicas: 1 });
    expect(names(waiting.confirming)).toEqual(['ontraport/main', 'virtualrx/main']);
    expect(decideDurability(settings, { waitReplicas: 0 }, accounts(), 'redis://x')).toMatchObject({ refusal: undefined, confirming: [] });
    expect(decideDurability(settings, { waitReplicas: 2 }, accounts(), 'redis://x').refusal).toContain('redis.waitReplicas is 2 but 1 replica(s) are connected');
  });

  it('Redis 7.2 or later with AOF and appendfsync everysec: WAITAOF after each mark; not with appendfsync no (pure decision: no such server on this machine)', () => {
    const settings: RedisSettings = { version: '7.2.4', appendonly: true, appendfsync: 'everysec', noFsyncOnRewrite: false, maxmemoryPolicy: 'noeviction', connectedReplicas: 0, source: 'server' };
    const decision = decideDurability(settings, { waitReplicas: undefined }, accounts(), 'redis://x');
    expect(decision.refusal).toBeUndefined();
    expect(decision.plan).toEqual({ waitaof: true, waitReplicas: 0 });
    expect(names(decision.confirming)).toEqual(['ontraport/main', 'virtualrx/main']);
    const never = decideDurability({ ...settings, appendfsync: 'no' }, { waitReplicas: undefined }, accounts(), 'redis://x');
    expect(never.plan.waitaof).toBe(false);
    expect(never.refusal).toContain('appendfsync no');
  });
});

describe.skipIf(!installed)('path 3: confirmDurable', () => {
  it('true once the replica has the writes; false within the timeout while it is stopped; concurrent calls share one probe', async () => {
    const replicated = await startReplicatedRedis(join(dir, 'replicated'));
    const ledger = new Redis(replicated.url);
    // Room for a loaded machine's replica to acknowledge; a stopped one still answers false within it.
    const confirmer = await openConfirmer({ redisUrl: replicated.url }, 'durability-test:probe', { waitaof: false, waitReplicas: 1 }, 2000);
    try {
      await ledger.set('mark', '1');
      expect(await confirmer.confirmDurable()).toBe(true);

      const before = Number(await ledger.get('durability-test:probe'));
      expect(await Promise.all(Array.from({ length: 20 }, () => confirmer.confirmDurable()))).toEqual(Array(20).fill(true));
      expect(Number(await ledger.get('durability-test:probe')) - before).toBeLessThanOrEqual(2);

      replicated.pauseReplica();
      await ledger.set('mark', '2');
      const started = Date.now();
      expect(await confirmer.confirmDurable()).toBe(false);
      expect(Date.now() - started).toBeLessThan(5000);
      replicated.resumeReplica();
      expect(await confirmer.confirmDurable()).toBe(true);
    } finally {
      ledger.disconnect();
      await confirmer.close();
      await replicated.close();
    }
  });
});

describe.skipIf(!installed)('path 3: the refusal', () => {
  it('stipend worker exits with code 2 and the one line, no stack trace', { timeout: 60_000 }, async () => {
    const everysec = await server(['--appendfsync', 'everysec']);
    const configFile = join(dir, 'everysec.config.json');
    const all = sandboxConfig().accounts as Record<string, { sandbox: object }>;
    await writeFile(configFile, JSON.stringify({ redis: { url: everysec.url, prefix: 't-durability' }, accounts: { ontraport: { main: { ...all.ontraport!.sandbox, acceptRedisWriteLoss: false } } } }));
    const child = spawn(process.execPath, ['--import', 'tsx', 'jobs/main.ts', '--config', configFile, 'worker'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const [code] = await once(child, 'exit');
    expect(code).toBe(2);
    const lines = stderr.split('\n').filter((line) => line.trim() !== '');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^stipend: workers refused for ontraport\/main: Redis at redis:\/\/127\.0\.0\.1:\d+ can lose an acknowledged sending mark.*appendfsync everysec.*To fix: /);
  });
});
