import { InvalidArgumentError } from 'commander';

/** How often, by default, `run` and `retry` print a line saying what waits and why (`--status-every`). */
export const STATUS_EVERY_MS = 60_000;

const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;

/** A command-line duration: a whole number and a unit, e.g. 500ms, 90s, 10m, 1h. In ms. */
export function parseDuration(text: string): number {
  const match = /^([1-9]\d*)(ms|s|m|h)$/.exec(text.trim());
  if (!match) throw new InvalidArgumentError('must be a duration such as 90s, 10m or 1h');
  return Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS];
}

/** The duration as the operator would write it back (90000 → 90s, 600000 → 10m). */
export function formatDuration(ms: number): string {
  for (const [unit, size] of [['h', 3_600_000], ['m', 60_000], ['s', 1000]] as const) {
    if (ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}
