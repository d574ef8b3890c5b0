import { tasks } from './tasks/index.js';

/**
 * One bench task in its own process: `node trial.js <task> <json args>`. Prints the measure as the
 * last line of stdout. The clock covers the task's work only; setup it does before calling
 * `start()` (generating data, connecting) is not counted.
 */
const [name, json] = process.argv.slice(2);
const task = tasks[name ?? ''];
if (!task) {
  process.stderr.write(`unknown bench task ${name}; known: ${Object.keys(tasks).join(', ')}\n`);
  process.exit(2);
}
let startedAt = 0;
let cpuAtStart = process.cpuUsage();
const result = await task(JSON.parse(json ?? '{}') as Record<string, unknown>, () => {
  startedAt = performance.now();
  cpuAtStart = process.cpuUsage();
});
const seconds = (performance.now() - startedAt) / 1000;
const cpu = process.cpuUsage(cpuAtStart);
process.stdout.write(`${JSON.stringify({
  items: result.items,
  seconds,
  peakRssMb: process.resourceUsage().maxRSS / 1024,
  cpuMs: (cpu.user + cpu.system) / 1000,
  extra: result.extra ?? {},
})}\n`);
process.exit(0);
