import { execFileSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { cpus, tmpdir, totalmem, type } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, Option } from 'commander';
import { redactUrl } from '../src/redact-url.js';
import { fmt, type RowContext, type RowResult } from './harness.js';
import { rows } from './rows/index.js';

/**
 * `npm run bench`: each row measures the project and its bare baseline side by side, alternating,
 * medians of several runs, and prints their ratio. The table also goes to bench/RESULTS.md with the
 * machine it ran on. `--scale 0.1` shrinks every size for a quick run.
 */
const options = new Command('bench')
  .addOption(new Option('--scale <n>', 'multiply every size by this (0.1 for a quick run)').default('1'))
  .addOption(new Option('--runs <n>', 'runs of each side per row; the median is kept').default('3'))
  .addOption(new Option('--only <rows>', 'comma-separated row numbers, e.g. 1,3'))
  .option('--no-write', 'print the table only; leave bench/RESULTS.md as it is')
  .option('--cpu-prof <dir>', 'write a CPU profile of every trial process into this folder (node --cpu-prof)')
  .parse()
  .opts<{ scale: string; runs: string; only?: string; write: boolean; cpuProf?: string }>();
if (options.cpuProf) process.env.BENCH_CPU_PROF = options.cpuProf;

const context: RowContext = {
  scale: Number(options.scale),
  runs: Number(options.runs),
  dir: join(tmpdir(), 'stipend-bench'),
  redisUrl: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
};
const chosen = options.only?.split(',').map(Number);
const results: RowResult[] = [];
for (const [index, row] of rows.entries()) {
  if (chosen && !chosen.includes(index + 1)) continue;
  process.stderr.write(`running row ${index + 1}…\n`);
  const result = await row(context);
  results.push(result);
  process.stderr.write(`${table([result])}\n`);
}

const text = `${table(results)}\n\n${notes(results)}`;
process.stdout.write(`${text}\n`);
if (options.write) {
  const resultsFile = fileURLToPath(new URL('../../bench/RESULTS.md', import.meta.url));
  await writeFile(resultsFile, `# Benchmark results\n\n${machine()}\n\n${text}\n`);
  process.stdout.write(`written to bench/RESULTS.md\n`);
}

function table(list: RowResult[]): string {
  const lines = ['| row | project | baseline | ratio | goal | met |', '| --- | --- | --- | --- | --- | --- |'];
  for (const r of list) lines.push(`| ${r.row} | ${r.project} | ${r.baseline} | ${r.ratio === undefined ? '–' : fmt(r.ratio, 2)} | ${r.goal} | ${r.met ? 'yes' : '**no**'} |`);
  return lines.join('\n');
}

function notes(list: RowResult[]): string {
  return list.flatMap((r) => r.notes.map((n) => `- ${r.row}: ${n}`)).join('\n');
}

function machine(): string {
  const cpu = cpus();
  let redis = 'unknown';
  try {
    redis = execFileSync('redis-cli', ['-u', context.redisUrl, 'INFO', 'server'], { encoding: 'utf8' }).match(/redis_version:(\S+)/)?.[1] ?? redis;
  } catch {
    // redis-cli is optional: the version is only a note.
  }
  return [
    `Run on ${new Date().toISOString().slice(0, 10)}, scale ${context.scale}, median of ${context.runs} alternating runs per side.`,
    `Machine: ${type()}, ${cpu.length} × ${cpu[0]?.model.trim() ?? 'unknown CPU'}, ${fmt(totalmem() / 2 ** 30, 1)} GiB; Node ${process.version}; Redis ${redis} on ${redactUrl(context.redisUrl)}.`,
  ].join('\n');
}
