import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWorkers } from '../../jobs/workers.js';
import { submitManifest } from '../../src/batches/submit.js';
import { waitForBatch } from '../../src/batches/wait.js';
import { resolveConfig } from '../../src/config/load.js';
import { startDashboard, type RunningDashboard } from '../../src/dashboard/server.js';
import type { BatchRecord } from '../../src/ledger/batches.js';
import { createLogger } from '../../src/log.js';
import { TIMING_BUCKETS } from '../../src/metrics/provider-timings.js';
import { bullPrefix } from '../../src/queue/payment-job.js';
import type { RunningWorkers } from '../../src/worker-side.js';
import { redisServerInstalled, startPrivateRedis } from '../helpers/private-redis.js';
import { startStack, type TestStack } from '../helpers/stack.js';

/**
 * `stipend dashboard` over real HTTP: the sign-in, bull-board's queues and its read-only mode,
 * /metrics against the ledger and the sandbox's own request log, /healthz with and without workers.
 */

const CREDENTIALS = { username: 'finance', password: 'correct horse battery staple' };
const silent = createLogger({ level: 'silent' });

let stack: TestStack;
let workers: RunningWorkers | undefined;
let dashboard: RunningDashboard;
let batch: BatchRecord;

beforeAll(async () => {
  stack = await startStack({ providers: ['ctpayer', 'virtualrx'] });
  // Started here rather than through the stack, so that the last test can stop them.
  workers = await startWorkers(stack.context, stack.config.accounts, silent);
  dashboard = await startDashboard({ config: stack.config, host: '127.0.0.1', port: 0, engineers: { kind: 'basic', credentials: CREDENTIALS }, readOnly: true, log: silent });
  const file = await stack.manifest('visits.csv', [
    'payment_id,cardId,amount,description',
    'v-1,1000000001,25.00,Visit 1 stipend',
    'v-2,1000000002,12.50,Visit 1 stipend',
    'v-3,1000000003,0.01,Parking',
    'v-4,1000000022,30.00,Visit 1 stipend', // an inactive card: declined
  ].join('\n'));
  const submitted = await submitManifest(stack.context, { file, account: stack.account('ctpayer') });
  if (!submitted.accepted) throw new Error('manifest rejected');
  batch = await waitForBatch(stack.context, submitted.batchId, { pollMs: 50 });
});

afterAll(async () => {
  await dashboard?.close();
  await workers?.close();
  await stack?.close();
});

function get(path: string, options: { auth?: { username: string; password: string } | null; method?: string } = {}) {
  const auth = options.auth === undefined ? CREDENTIALS : options.auth;
  const headers: Record<string, string> = auth ? { authorization: `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}` } : {};
  return fetch(`${dashboard.url}${path}`, { method: options.method ?? 'GET', headers, redirect: 'manual' });
}

describe('sign-in', () => {
  it('refuses the board and /metrics without the configured user and password, and admits with them', async () => {
    for (const path of ['/queues', '/queues/api/queues', '/metrics']) {
      const anonymous = await get(path, { auth: null });
      expect(anonymous.status).toBe(401);
      expect(anonymous.headers.get('www-authenticate')).toMatch(/^Basic realm=/);
      expect((await get(path, { auth: { ...CREDENTIALS, password: 'correct horse battery stapl' } })).status).toBe(401);
      expect((await get(path, { auth: { ...CREDENTIALS, username: 'Finance' } })).status).toBe(401);
    }
    expect((await get('/queues')).status).toBe(200);
    expect((await get('/metrics')).status).toBe(200);
    // The root is the people's console, which has its own sign-in (test/console/).
    const root = await get('/', { auth: null });
    expect([root.status, root.headers.get('location')]).toEqual([302, '/console/batches']);
  });

  it('leaves /healthz open, for load balancers and container checks', async () => {
    expect((await get('/healthz', { auth: null })).status).toBe(200);
  });
});

describe('bull-board', () => {
  it('lists every account\'s payment queue and the schedules queue, read-only, with their jobs by state', async () => {
    const response = await get('/queues/api/queues');
    expect(response.status).toBe(200);
    const { queues } = (await response.json()) as { queues: { name: string; readOnlyMode: boolean; counts: Record<string, number> }[] };
    expect(queues.map((q) => q.name).sort()).toEqual(['pay.ctpayer.main', 'pay.virtualrx.main', 'schedules']);
    expect(queues.every((q) => q.readOnlyMode)).toBe(true);
    // The batch's 4 payments completed, and a payment job is removed as it completes (the ledger keeps the payment).
    expect(queues.find((q) => q.name === 'pay.ctpayer.main')!.counts).toMatchObject({ completed: 0, failed: 0, waiting: 0, active: 0 });
  });

  it('read-only, refuses every action and changes nothing', async () => {
    const queue = new Queue('pay.ctpayer.main', { connection: stack.context.redis, prefix: bullPrefix(stack.prefix, stack.account('ctpayer')) });
    try {
      const before = await queue.getJobCounts();
      for (const action of ['pause', 'clean/completed', 'retry/failed', 'empty', 'obliterate']) {
        const response = await get(`/queues/api/queues/pay.ctpayer.main/${action}`, { method: 'PUT' });
        expect([action, response.status]).toEqual([action, 405]);
      }
      const job = `${batch.batch_id}.v-1`;
      expect((await get(`/queues/api/queues/pay.ctpayer.main/${job}/retry`, { method: 'PUT' })).status).toBe(405);
      expect(await queue.isPaused()).toBe(false);
      expect(await queue.getJobCounts()).toEqual(before);
      expect(await stack.context.redis.exists(`${bullPrefix(stack.prefix, stack.account('ctpayer'))}:pay.ctpayer.main:meta`)).toBe(1);
    } finally {
      await queue.close();
    }
  });

  it('with actions allowed, pauses and resumes a queue, but never adds a job or rewrites one\'s data', async () => {
    const writable = await startDashboard({ config: stack.config, host: '127.0.0.1', port: 0, engineers: { kind: 'basic', credentials: CREDENTIALS }, readOnly: false, log: silent });
    const queue = new Queue('pay.virtualrx.main', { connection: stack.context.redis, prefix: bullPrefix(stack.prefix, stack.account('virtualrx')) });
    const call = (path: string, method: string, body?: unknown) =>
      fetch(`${writable.url}/queues/api/queues/pay.virtualrx.main/${path}`, {
        method,
        headers: { authorization: `Basic ${Buffer.from(`${CREDENTIALS.username}:${CREDENTIALS.password}`).toString('base64')}`, 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    try {
      expect((await call('pause', 'PUT')).status).toBe(200);
      expect(await queue.isPaused()).toBe(true);
      expect((await call('resume', 'PUT')).status).toBe(200);
      expect(await queue.isPaused()).toBe(false);

      const added = await call('add', 'POST', { name: 'payment', data: { batchId: 'b', paymentId: 'p', amountCents: 100, fields: {} } });
      expect(added.status).toBe(403);
      expect((await call(`${batch.batch_id}.v-1/update-data`, 'PATCH', { data: { amountCents: 1_000_000 } })).status).toBe(403);
      expect(await queue.count()).toBe(0);
    } finally {
      await queue.close();
      await writable.close();
    }
  });
});

/** Prometheus text format → value of each series, by its full name with labels. */
async function scrape(): Promise<Map<string, number>> {
  const response = await get('/metrics');
  expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  const series = new Map<string, number>();
  for (const line of (await response.text()).split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    series.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return series;
}

describe('/metrics', () => {
  it('counts payments and cents by provider, account and status as the ledger does', async () => {
    const series = await scrape();
    const ctpayer = (status: string) => [
      series.get(`stipend_payments{provider="ctpayer",account="main",status="${status}"}`),
      series.get(`stipend_payments_cents{provider="ctpayer",account="main",status="${status}"}`),
    ];
    expect(ctpayer('paid')).toEqual([batch.n_paid, batch.c_paid]);
    expect(ctpayer('paid')).toEqual([3, 3751]);
    expect(ctpayer('declined')).toEqual([1, 3000]);
    expect(ctpayer('pending')).toEqual([0, 0]);
  });

  it('shows every provider request the workers made in the latency and rate-limit-wait histograms', async () => {
    const series = await scrape();
    // Every request the sandbox received (the funding check, then one per payment) was timed.
    const requests = stack.sandboxes.ctpayer!.requests().length;
    expect(requests).toBeGreaterThanOrEqual(4);
    for (const name of ['stipend_provider_request_duration_seconds', 'stipend_rate_limit_wait_seconds']) {
      const labels = 'provider="ctpayer",account="main"';
      expect(series.get(`${name}_count{${labels}}`)).toBe(requests);
      expect(series.get(`${name}_bucket{${labels},le="+Inf"}`)).toBe(requests);
      expect(series.get(`${name}_sum{${labels}}`)).toBeGreaterThan(0);
      const buckets = [...series].filter(([key]) => key.startsWith(`${name}_bucket{${labels}`)).map(([, value]) => value);
      expect(buckets).toHaveLength(TIMING_BUCKETS[name === 'stipend_rate_limit_wait_seconds' ? 'wait' : 'duration'].length + 1); // every bound, and +Inf
      expect(buckets).toEqual([...buckets].sort((a, b) => a - b)); // cumulative
    }
    // No request went to VirtualRx: no series for it yet.
    expect([...series.keys()].some((key) => key.includes('provider="virtualrx"') && key.startsWith('stipend_provider_request'))).toBe(false);
  });

  it('shows each queue\'s jobs by state and its workers', async () => {
    const series = await scrape();
    expect(series.get('stipend_queue_jobs{queue="pay.ctpayer.main",state="completed"}')).toBe(0);
    expect(series.get('stipend_queue_jobs{queue="pay.ctpayer.main",state="waiting"}')).toBe(0);
    expect(series.get('stipend_queue_workers{queue="pay.ctpayer.main"}')).toBe(1);
    expect(series.get('stipend_queue_workers{queue="schedules"}')).toBe(1);
  });
});

describe('/healthz', () => {
  it('answers Redis unreachable, with 503, once Redis is gone', { skip: !redisServerInstalled() }, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'stipend-dashboard-redis-'));
    const redis = await startPrivateRedis(dir);
    const config = resolveConfig({ redis: { url: redis.url, prefix: stack.prefix }, accounts: { ctpayer: { main: { baseUrl: stack.sandboxes.ctpayer!.url, credentials: stack.account('ctpayer').connection().credentials } } } }, 'test');
    const own = await startDashboard({ config, host: '127.0.0.1', port: 0, engineers: { kind: 'open' }, readOnly: true, log: silent });
    try {
      await redis.kill();
      const response = await fetch(`${own.url}/healthz`);
      expect(response.status).toBe(503);
      expect(await response.json()).toMatchObject({ status: 'unavailable', redis: 'unreachable' });
    } finally {
      await own.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  // Last: it stops the workers.
  it('is 200 with the workers counted while they run, and 503 once none is connected', async () => {
    const running = await get('/healthz', { auth: null });
    expect(running.status).toBe(200);
    expect(await running.json()).toEqual({ status: 'ok', redis: 'ok', workers: 1, queues: { 'pay.ctpayer.main': 1, 'pay.virtualrx.main': 1 } });

    await workers!.close();
    workers = undefined;
    const stopped = await get('/healthz', { auth: null });
    expect(stopped.status).toBe(503);
    expect(await stopped.json()).toEqual({ status: 'unavailable', redis: 'ok', workers: 0, queues: { 'pay.ctpayer.main': 0, 'pay.virtualrx.main': 0 }, reason: 'no worker process is connected' });
  });
});
