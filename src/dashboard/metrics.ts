import type { Queue } from 'bullmq';
import type { LedgerArchive } from '../ledger/archived.js';
import type { RedisClient } from '../redis/connection.js';
import { Gauge, Registry } from 'prom-client';
import type { Account } from '../config/load.js';
import { BatchLedger } from '../ledger/batches.js';
import { readTimings } from '../metrics/provider-timings.js';
import { RedisKeys } from '../redis/keys.js';
import { readPaymentTotals } from './payment-totals.js';
import { SnapshotHistogram } from './snapshot-histogram.js';

export interface MetricSources {
  redis: RedisClient;
  /** Archived batches count too: their records are in the archive's index. */
  archive: LedgerArchive;
  prefix: string;
  /** The accounts whose request timings are shown. */
  accounts: Account[];
  /** The queues whose depth and workers are shown. */
  queues: Queue[];
}

/**
 * What `/metrics` shows Prometheus. Everything is read from Redis at each scrape (the ledger's batch
 * counts, BullMQ's queues, the timings workers record), because the workers are other processes,
 * possibly on other machines: this process observes nothing itself.
 */
export function dashboardMetrics(sources: MetricSources): { contentType: string; render(): Promise<string> } {
  const { redis, prefix, accounts, queues } = sources;
  const keys = new RedisKeys(prefix);
  const batches = new BatchLedger(redis, keys, sources.archive);
  const registry = new Registry();
  const payments = new Gauge({
    name: 'stipend_payments',
    help: 'Payments by provider, account and status (a final status, or pending: accepted, not final yet), from the ledger',
    labelNames: ['provider', 'account', 'status'],
    registers: [registry],
  });
  const cents = new Gauge({
    name: 'stipend_payments_cents',
    help: 'Amount of those payments in cents; status="paid" is the money paid out',
    labelNames: ['provider', 'account', 'status'],
    registers: [registry],
  });
  // A gauge read from the ledger's counts at each scrape (this process counts nothing itself); it
  // only grows, so alert on any increase.
  const conflicts = new Gauge({
    name: 'stipend_payment_conflicts',
    help: 'Payments that got a paid answer the ledger could not take (a late paid after a not-paid verdict, or a second paid with another reference): each needs a person',
    labelNames: ['provider', 'account'],
    registers: [registry],
  });
  const jobs = new Gauge({ name: 'stipend_queue_jobs', help: 'BullMQ jobs by queue and state (waiting and delayed are the queue depth)', labelNames: ['queue', 'state'], registers: [registry] });
  const workers = new Gauge({ name: 'stipend_queue_workers', help: 'Workers connected to each queue', labelNames: ['queue'], registers: [registry] });
  const duration = new SnapshotHistogram('stipend_provider_request_duration_seconds', 'Provider HTTP requests, from leaving to their answer or failure, by provider and account');
  const waits = new SnapshotHistogram('stipend_rate_limit_wait_seconds', 'Time provider requests waited for the account\'s shared rate limit (and Retry-After pauses) before leaving');
  registry.registerMetric(duration.asMetric());
  registry.registerMetric(waits.asMetric());

  async function refresh(): Promise<void> {
    const [totals, queueStates, timings] = await Promise.all([
      readPaymentTotals(batches),
      Promise.all(queues.map(async (queue) => ({ queue: queue.name, counts: await queue.getJobCounts(), workers: await queue.getWorkersCount() }))),
      Promise.all(
        accounts.map(async (account) => ({
          labels: { provider: account.provider, account: account.name },
          timings: await readTimings(redis, keys.providerTimings(account.provider, account.name)),
        })),
      ),
    ]);
    // Applied with no await in between, so a scrape renders one consistent state.
    for (const gauge of [payments, cents, conflicts, jobs, workers]) gauge.reset();
    for (const t of totals.statuses) {
      payments.set({ provider: t.provider, account: t.account, status: t.status }, t.count);
      cents.set({ provider: t.provider, account: t.account, status: t.status }, t.cents);
    }
    for (const c of totals.conflicts) conflicts.set({ provider: c.provider, account: c.account }, c.count);
    for (const q of queueStates) {
      for (const [state, count] of Object.entries(q.counts)) jobs.set({ queue: q.queue, state }, count);
      workers.set({ queue: q.queue }, q.workers);
    }
    const recorded = timings.flatMap(({ labels, timings: t }) => (t ? [{ labels, timings: t }] : []));
    duration.set(recorded.map(({ labels, timings: t }) => ({ labels, snapshot: t.duration })));
    waits.set(recorded.map(({ labels, timings: t }) => ({ labels, snapshot: t.wait })));
  }

  return {
    contentType: registry.contentType,
    render: async () => {
      await refresh();
      return registry.metrics();
    },
  };
}
