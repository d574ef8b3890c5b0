import { stat } from 'node:fs/promises';
import { loadConfig } from '../config/load.js';
import { openContext, type StipendContext } from '../context.js';
import { UsageError } from '../errors.js';
import { addSchedule, listSchedules, removeSchedule } from '../ingest/schedules.js';

async function withContext(configPath: string | undefined, work: (context: StipendContext) => Promise<number>): Promise<number> {
  const context = await openContext(await loadConfig({ path: configPath }));
  try {
    return await work(context);
  } finally {
    await context.close();
  }
}

const when = (next: number | undefined) => (next === undefined ? 'not scheduled' : new Date(next).toISOString());

/** `stipend schedule add`: creates or replaces a schedule (the name is its identity). */
export async function scheduleAddCommand(name: string, options: { cron: string; dir: string; provider: string; account?: string; config?: string }): Promise<number> {
  await requireFolder(options.dir);
  return withContext(options.config, async (context) => {
    const { next } = await addSchedule(context, name, options);
    process.stdout.write(`schedule ${name}: "${options.cron}", next run ${when(next)}; workers pay what waits in ${options.dir}/inbox/${options.provider}/\n`);
    return 0;
  });
}

/** A mistyped --dir would otherwise be accepted, and every run would find nothing to pay, silently. */
async function requireFolder(dir: string): Promise<void> {
  const found = await stat(dir).catch((error: NodeJS.ErrnoException) => {
    throw new UsageError(`--dir ${dir}: ${error.code === 'ENOENT' ? 'no such folder' : error.code ?? error.message}; create it first (files wait in <dir>/inbox/<provider>/<account>/)`);
  });
  if (!found.isDirectory()) throw new UsageError(`--dir ${dir} is a file, not a folder`);
}

export function scheduleListCommand(options: { config?: string }): Promise<number> {
  return withContext(options.config, async (context) => {
    const schedules = await listSchedules(context);
    if (schedules.length === 0) process.stdout.write('no schedules\n');
    for (const s of schedules) process.stdout.write(`${s.name}\t"${s.pattern}"\tnext ${when(s.next)}\t${s.run.provider}/${s.run.account}\t${s.run.dir}\n`);
    return 0;
  });
}

export function scheduleRemoveCommand(name: string, options: { config?: string }): Promise<number> {
  return withContext(options.config, async (context) => {
    await removeSchedule(context, name);
    process.stdout.write(`schedule ${name} removed\n`);
    return 0;
  });
}
