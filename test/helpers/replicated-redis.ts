import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir } from 'node:fs/promises';
import { connect, createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from './private-redis.js';

/**
 * A Redis primary with one replica, both real redis-server processes (AOF on, fsynced on every
 * write), behind a TCP proxy whose address stays the same across a failover, as a Sentinel-aware
 * client would see it. For tests of what Redis can lose after acknowledging a write.
 */
export async function startReplicatedRedis(dir: string): Promise<{
  url: string;
  pauseReplica(): void;
  resumeReplica(): void;
  /** Kill the primary (SIGKILL) and carry on from the replica's copy, which lacks the primary's last writes: Redis restored to an older copy. */
  /** `restored` runs on the new primary before anyone else reaches it (what it holds, unchanged by workers). */
  failover(restored?: (url: string) => Promise<void>): Promise<void>;
  close(): Promise<void>;
}> {
  let generation = 0;
  let primary = await startRedisServer(join(dir, `server-${generation}`));
  let replica = await startRedisServer(join(dir, `server-${++generation}`), { primaryPort: primary.port });
  // While undefined (mid-failover), clients are turned away and reconnect.
  let target: number | undefined = primary.port;
  const sockets = new Set<Socket>();
  const proxy = createServer((client) => {
    if (target === undefined) return void client.destroy();
    const upstream = connect(target, '127.0.0.1');
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('error', () => {});
      socket.on('close', () => {
        sockets.delete(socket);
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream).pipe(client);
  });
  proxy.listen(0, '127.0.0.1');
  await once(proxy, 'listening');
  const { port } = proxy.address() as { port: number };

  return {
    url: `redis://127.0.0.1:${port}`,
    pauseReplica: () => replica.child.kill('SIGSTOP'),
    resumeReplica: () => replica.child.kill('SIGCONT'),
    async failover(restored?: (url: string) => Promise<void>) {
      target = undefined;
      // The replica is killed too, not resumed: a stopped replica still holds the primary's later
      // writes in its socket buffer and would apply them. What it applied before is in its AOF.
      await Promise.all([primary.kill(), replica.kill()]);
      for (const socket of sockets) socket.destroy();
      primary = await startRedisServer(replica.dir);
      // A fresh replica follows the new primary, as Sentinel would give it, so WAIT can be met again.
      replica = await startRedisServer(join(dir, `server-${++generation}`), { primaryPort: primary.port });
      await restored?.(primary.url);
      target = primary.port;
    },
    async close() {
      target = undefined;
      for (const socket of sockets) socket.destroy();
      proxy.close();
      await Promise.all([primary.kill(), replica.kill()]);
    },
  };
}

// Servers still running when the test process ends are killed with it.
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

export interface RedisServer {
  port: number;
  url: string;
  dir: string;
  child: ChildProcess;
  kill(): Promise<void>;
}

/**
 * A redis-server over `dir` (its AOF loaded if there is one), AOF fsynced on every write unless `args`
 * say otherwise (later arguments win), a replica of `primaryPort` if given, on `port` or a free one;
 * resolves once ready.
 */
export async function startRedisServer(dir: string, options: { primaryPort?: number; args?: string[]; port?: number } = {}): Promise<RedisServer> {
  const { primaryPort } = options;
  await mkdir(dir, { recursive: true });
  const port = options.port ?? (await freePort());
  // No diskless-sync delay: a replica is in sync in milliseconds instead of Redis' default 5 s.
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--appendfsync', 'always', '--save', '', '--maxmemory-policy', 'noeviction', '--repl-diskless-sync-delay', '0'];
  if (primaryPort !== undefined) args.push('--replicaof', '127.0.0.1', String(primaryPort));
  args.push(...(options.args ?? []));
  const child = spawn('redis-server', args, { stdio: 'ignore' });
  running.add(child);
  const exited = once(child, 'exit').then(() => running.delete(child));
  const url = `redis://127.0.0.1:${port}`;
  const server: RedisServer = {
    port,
    url,
    dir,
    child,
    kill: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
  const redis = new Redis(url, { lazyConnect: true, retryStrategy: () => 50, maxRetriesPerRequest: null });
  redis.on('error', () => {});
  try {
    // A replica is ready once it is in sync and its AOF holds the copy it received (the rewrite
    // that follows a full sync is done), so that a copy started from its folder has everything.
    for (let i = 0; ; i++) {
      const info = await redis.info().catch(() => '');
      const field = (name: string) => new RegExp(`^${name}:(.*)$`, 'm').exec(info)?.[1]?.trim();
      const inSync = primaryPort === undefined || (field('master_link_status') === 'up' && field('aof_rewrite_in_progress') === '0' && field('aof_rewrite_scheduled') === '0' && field('aof_rewrites') !== '0');
      if (field('loading') === '0' && inSync) return server;
      if (i > 400) throw new Error(`redis-server on port ${port} did not become ready`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  } finally {
    redis.disconnect();
  }
}
