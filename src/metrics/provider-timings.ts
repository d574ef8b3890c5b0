import type { RedisClient } from '../redis/connection.js';
import type { RequestTiming } from '../providers/http.js';

/**
 * Histograms of the requests sent to one provider account, added to by every worker process and
 * read by the dashboard. They live in Redis, in one hash per account, because the dashboard is a
 * process of its own (possibly on another machine) and sees nothing of a worker's memory:
 *
 *   duration  from the request leaving to its answer (or its failure), in seconds
 *   wait      how long it waited at the account's gate before leaving (the shared rate limit's
 *             spacing, and any Retry-After pause), in seconds
 *
 * Fields of each histogram: `<name>:le:<bound>` counts the requests of that bucket alone (not
 * cumulative; `+Inf` past the last bound), `<name>:sum` and `<name>:count`. The reader also takes
 * the bounds it finds, so workers of another version with other buckets still add up correctly.
 */
export const TIMING_BUCKETS = {
  duration: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
  wait: [0.005, 0.05, 0.25, 1, 2.5, 5, 10, 30, 60, 300],
} as const;
export type TimingName = keyof typeof TIMING_BUCKETS;
const TIMING_NAMES = Object.keys(TIMING_BUCKETS) as TimingName[];

/** Prometheus' histogram: cumulative bucket counts by upper bound (the last one +Inf), sum, count. */
export interface HistogramSnapshot {
  buckets: { le: number; count: number }[];
  sum: number;
  count: number;
}

/** Adds up request timings for one account's hash and writes them to Redis. */
export interface TimingRecorder {
  observe(timing: RequestTiming): void;
  /** Resolves once every timing observed so far is written (or reported to onError). */
  flush(): Promise<void>;
}

/**
 * Never holds up or fails the request it measured: the first timing is written at once, in one
 * pipelined round trip that nobody waits for; those that come while a write is under way are added
 * up in memory and go together in the next one. So a busy worker writes once per round trip, not
 * six commands per request. A write that fails is reported to `onError`; its timings are lost.
 */
export function timingRecorder(redis: RedisClient, key: string, onError: (error: unknown) => void): TimingRecorder {
  let counts = new Map<string, number>();
  let sums = new Map<string, number>();
  let writing: Promise<void> | undefined;

  const write = (): void => {
    const pipeline = redis.pipeline();
    for (const [field, by] of counts) pipeline.hincrby(key, field, by);
    for (const [field, by] of sums) pipeline.hincrbyfloat(key, field, by);
    counts = new Map();
    sums = new Map();
    writing = pipeline
      .exec()
      .then((results) => {
        const failed = results?.find(([error]) => error !== null);
        if (failed) throw failed[0];
      })
      .catch(onError)
      .finally(() => {
        writing = undefined;
        if (counts.size > 0) write();
      });
  };
  const add = (map: Map<string, number>, field: string, by: number) => map.set(field, (map.get(field) ?? 0) + by);

  return {
    observe(timing) {
      const seconds: Record<TimingName, number> = { duration: timing.durationMs / 1000, wait: timing.waitMs / 1000 };
      for (const name of TIMING_NAMES) {
        const bound = TIMING_BUCKETS[name].find((le) => seconds[name] <= le) ?? Infinity;
        add(counts, `${name}:le:${formatBound(bound)}`, 1);
        add(counts, `${name}:count`, 1);
        add(sums, `${name}:sum`, seconds[name]);
      }
      if (writing === undefined) write();
    },
    async flush() {
      while (writing !== undefined) await writing;
    },
  };
}

/** One account's request timings as recorded (timingRecorder); undefined when no request was recorded yet. */
export async function readTimings(redis: RedisClient, key: string): Promise<Record<TimingName, HistogramSnapshot> | undefined> {
  return parseTimings(await redis.hgetall(key));
}

/** The histograms in one account's hash; undefined when no request was recorded yet. */
function parseTimings(hash: Record<string, string>): Record<TimingName, HistogramSnapshot> | undefined {
  if (Object.keys(hash).length === 0) return undefined;
  return Object.fromEntries(TIMING_NAMES.map((name) => [name, histogramOf(hash, name)])) as Record<TimingName, HistogramSnapshot>;
}

function histogramOf(hash: Record<string, string>, name: TimingName): HistogramSnapshot {
  const marker = `${name}:le:`;
  const recorded = Object.entries(hash)
    .filter(([field]) => field.startsWith(marker))
    .map(([field, value]) => ({ le: parseBound(field.slice(marker.length)), count: Number(value) }));
  // Every current bound is shown, even before a request fell in it: Prometheus wants stable buckets.
  const bounds = [...new Set([...TIMING_BUCKETS[name], ...recorded.map((b) => b.le)])].filter((le) => le !== Infinity).sort((a, b) => a - b);
  const count = Number(hash[`${name}:count`] ?? 0);
  const buckets = bounds.map((le) => ({ le, count: recorded.filter((b) => b.le <= le).reduce((sum, b) => sum + b.count, 0) }));
  return { buckets: [...buckets, { le: Infinity, count }], sum: Number(hash[`${name}:sum`] ?? 0), count };
}

function formatBound(le: number): string {
  return le === Infinity ? '+Inf' : String(le);
}

function parseBound(text: string): number {
  return text === '+Inf' ? Infinity : Number(text);
}
