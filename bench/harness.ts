import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** What one trial measured, in its own process (peak memory is the process's). */
export interface Measure {
  /** Items handled (rows, payments, jobs). */
  items: number;
  seconds: number;
  /** Peak resident memory of the trial's process. */
  peakRssMb: number;
  /** CPU time (user + system) of the trial's process. */
  cpuMs: number;
  /** Anything else the task measured (requests per window, etc.). */
  extra: Record<string, number>;
}

export const rate = (m: Measure): number => m.items / m.seconds;

const TRIAL = fileURLToPath(new URL('./trial.js', import.meta.url));

/**
 * Runs one task in a fresh Node process, so that its peak memory and CPU time are its own and no
 * trial warms or pollutes the next. The task's arguments and result travel as JSON.
 */
export function trial(task: string, args: Record<string, unknown>): Promise<Measure> {
  return new Promise((resolve, reject) => {
    // `--cpu-prof <dir>` (run.ts): every trial process writes a CPU profile there, named by its task.
    const profile = process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`, `--cpu-prof-name=${task}-${Date.now()}.cpuprofile`] : [];
    execFile(process.execPath, [...profile, '--expose-gc', TRIAL, task, JSON.stringify(args)], { maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) return reject(new Error(`bench task ${task} failed: ${stderr || error.message}`));
      const last = stdout.trim().split('\n').at(-1) ?? '';
      try {
        resolve(JSON.parse(last) as Measure);
      } catch {
        reject(new Error(`bench task ${task} printed no result: ${stdout.slice(-500)}`));
      }
    });
  });
}

/**
 * Each side (the project, its baseline, …) `runs` times, in turn (project, baseline, project, …) so
 * that a machine slowing down or speeding up weighs on all alike.
 */
export async function alternate<Side extends string>(runs: number, sides: Record<Side, () => Promise<Measure>>): Promise<Record<Side, Measure[]>> {
  const entries = Object.entries(sides) as [Side, () => Promise<Measure>][];
  const results = Object.fromEntries(entries.map(([side]) => [side, [] as Measure[]])) as Record<Side, Measure[]>;
  for (let run = 0; run < runs; run += 1) {
    for (const [side, measure] of entries) results[side].push(await measure());
  }
  return results;
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** One line of the table. */
export interface RowResult {
  row: string;
  project: string;
  baseline: string;
  ratio: number | undefined;
  goal: string;
  met: boolean;
  notes: string[];
}

export interface RowContext {
  /** Sizes are multiplied by this (1 = the sizes; 0.1 for a quick run). */
  scale: number;
  runs: number;
  /** A folder for generated files, kept between runs. */
  dir: string;
  redisUrl: string;
}

export const scaled = (size: number, scale: number): number => Math.max(1, Math.round(size * scale));
export const fmt = (value: number, digits = 0): string => value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
