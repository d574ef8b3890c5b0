import type { Metric } from 'prom-client';
import type { HistogramSnapshot } from '../metrics/provider-timings.js';

type Labels = Record<string, string>;

/**
 * A Prometheus histogram whose buckets, sum and count are set from a snapshot, for observations
 * made in other processes (workers) and added up in Redis. prom-client's own Histogram only counts
 * what this process observe()s, so this object gives the registry the same shape it reads from one.
 */
export class SnapshotHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private values: { metricName: string; labels: Labels; value: number }[] = [];

  constructor(
    readonly name: string,
    readonly help: string,
  ) {}

  /** Replaces every series at once, so a scrape never sees half of an update. */
  set(series: { labels: Labels; snapshot: HistogramSnapshot }[]): void {
    this.values = series.flatMap(({ labels, snapshot }) => [
      ...snapshot.buckets.map((bucket) => ({
        metricName: `${this.name}_bucket`,
        labels: { ...labels, le: bucket.le === Infinity ? '+Inf' : String(bucket.le) },
        value: bucket.count,
      })),
      { metricName: `${this.name}_sum`, labels, value: snapshot.sum },
      { metricName: `${this.name}_count`, labels, value: snapshot.count },
    ]);
  }

  async get() {
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values: this.values };
  }

  reset(): void {
    this.values = [];
  }

  /** For Registry.registerMetric, which is typed for prom-client's own metric classes only. */
  asMetric(): Metric {
    return this as unknown as Metric;
  }
}
