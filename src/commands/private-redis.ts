import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { StipendError } from '../errors.js';
import { assertRedisReachable } from '../redis/connection.js';
import { redactUrl } from '../redact-url.js';

/** The demo found no Redis and could not start one of its own; the message says how to get one. */
export class NoRedisError extends StipendError {
  constructor(message: string) {
    super('NO_REDIS', message);
  }
}

export interface DemoRedis {
  url: string;
  /** Stops a private server and removes its folder; nothing for the configured Redis. */
  stop(): Promise<void>;
}

/**
 * The demo's Redis: the configured one when it answers. Otherwise, when `redis-server` is on the
 * PATH, a private one that lives as long as the demo, so a first try needs no Redis set up; `say`
 * tells the user, in one line, which it is.
 */
export async function demoRedis(configuredUrl: string, say: (line: string) => void): Promise<DemoRedis> {
  if (await assertRedisReachable({ redisUrl: configuredUrl }).then(() => true, () => false)) return { url: configuredUrl, stop: async () => {} };
  const shown = redactUrl(configuredUrl);
  const dir = await mkdtemp(join(tmpdir(), 'stipend-demo-redis-'));
  const server = await startServer(dir, shown).catch(async (error: unknown) => {
    await rm(dir, { recursive: true, force: true });
    throw error;
  });
  // However the demo ends (a crash, a closed stdout, Ctrl-C, SIGTERM), the server and its folder
  // go with it: a redis-server left running would hold its port for ever.
  const abandon = () => {
    server.child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  const onSignal = (signal: NodeJS.Signals) => {
    abandon();
    process.kill(process.pid, signal);
  };
  process.once('exit', abandon);
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  say(`no Redis answers at ${shown}: started a private one for this demo at ${redactUrl(server.url)} (redis-server, data in ${dir}), removed when the demo ends`);
  return {
    url: server.url,
    async stop() {
      process.off('exit', abandon);
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      await stopServer(server.child);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** How long a fresh redis-server may take to answer PING. */
const READY_WITHIN_MS = 10_000;

/**
 * redis-server on a free port, keeping every write it acknowledges (AOF fsynced on each) and never
 * evicting, as BullMQ and the ledger require. A port found free can be taken before the server
 * listens on it: then the server exits and another port is tried.
 */
async function startServer(dir: string, shownUrl: string): Promise<{ url: string; child: ChildProcess }> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--appendfsync', 'always', '--save', '', '--maxmemory-policy', 'noeviction'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout!.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-2000)));
    child.stderr!.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-2000)));
    const spawned = await once(child, 'spawn').then(() => undefined, (error: NodeJS.ErrnoException) => error);
    if (spawned?.code === 'ENOENT') {
      throw new NoRedisError(`Redis is not reachable at ${shownUrl}, and redis-server is not on the PATH to start a private one: start Redis with docker compose up -d redis, or install your system's package (e.g. sudo apt-get install redis-server), or set REDIS_URL`);
    }
    if (spawned) throw new NoRedisError(`Redis is not reachable at ${shownUrl}, and redis-server could not be started: ${spawned.message}`);
    const url = `redis://127.0.0.1:${port}`;
    if (await answers(url, child)) return { url, child };
    await stopServer(child);
    const portTaken = /address already in use/i.test(output);
    if (!portTaken || attempt === 3) {
      const reason = output.trim().split('\n').at(-1) ?? 'no output';
      throw new NoRedisError(`Redis is not reachable at ${shownUrl}, and a private redis-server did not start: ${reason}`);
    }
  }
}

/** Whether the server answers PING before it exits or READY_WITHIN_MS pass. */
async function answers(url: string, child: ChildProcess): Promise<boolean> {
  const deadline = Date.now() + READY_WITHIN_MS;
  while (child.exitCode === null && child.signalCode === null && Date.now() < deadline) {
    const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    probe.on('error', () => {});
    const up = await probe.connect().then(() => probe.ping()).then(() => true, () => false);
    probe.disconnect();
    if (up) return true;
    await sleep(50);
  }
  return false;
}

/** SIGTERM: redis-server flushes its AOF and exits. */
async function stopServer(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  await exited;
}

/** A port nothing listens on now, as the system hands out for port 0. */
async function freePort(): Promise<number> {
  const probe = createServer().listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const { port } = probe.address() as { port: number };
  await new Promise((resolve) => probe.close(resolve));
  return port;
}
