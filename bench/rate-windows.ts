/**
 * Requests per sliding window, from the arrival times (ms) a provider's sandbox logged, counted the
 * way the sandbox's own limiter counts them: a request at t is in the windows [s, s + perMs) with
 * s ≤ t < s + perMs.
 */
export interface WindowCounts {
  /** The most arrivals any window held: at most the limit, or the limiter failed. */
  busiest: number;
  /** The mean count of the windows that lie wholly in steady state (after the first window, before the last). */
  steady: number;
  /** The shortest time from one arrival to the limit-th after it (must be ≥ perMs): the margin left in the tightest spot. */
  closestMs: number;
}

const STEP_MS = 10;

export function windowCounts(arrivals: readonly number[], limit: { max: number; perMs: number }): WindowCounts {
  const times = [...arrivals].sort((a, b) => a - b);
  const { max, perMs } = limit;
  // The busiest window starts at an arrival; count forward with a second pointer.
  let busiest = 0;
  for (let i = 0, j = 0; i < times.length; i += 1) {
    while (j < times.length && times[j]! < times[i]! + perMs) j += 1;
    busiest = Math.max(busiest, j - i);
  }
  let closestMs = Infinity;
  for (let i = 0; i + max < times.length; i += 1) closestMs = Math.min(closestMs, times[i + max]! - times[i]!);
  // Windows starting every STEP_MS from the end of the ramp-up window until the last full window.
  const first = times[0]! + perMs;
  const last = times.at(-1)! - perMs;
  let windows = 0;
  let total = 0;
  for (let s = first, i = 0, j = 0; s <= last; s += STEP_MS) {
    while (times[i]! < s) i += 1;
    while (j < times.length && times[j]! < s + perMs) j += 1;
    windows += 1;
    total += j - i;
  }
  return { busiest, steady: windows === 0 ? NaN : total / windows, closestMs };
}
