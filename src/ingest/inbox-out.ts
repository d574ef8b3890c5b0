import { realpath } from 'node:fs/promises';
import { basename, dirname, join, resolve, sep } from 'node:path';
import type { ResolvedConfig } from '../config/load.js';
import { openContext } from '../context.js';
import { UsageError } from '../errors.js';
import { isWithin } from '../join-inside.js';
import { listSchedules } from './schedules.js';

/**
 * Refuses to write a report, an export or a card report into a folder whose files a watcher or a
 * scheduled run pays: there it would be taken as a manifest (paid, or rejected and quoted). Such a
 * folder is any folder named `inbox` (a drop folder's <root>/inbox/…, watched or not yet), and
 * anything under the inbox of a schedule's --dir (found in Redis), wherever links make either lead.
 * Checked before the command opens, sends or writes anything; `config` absent: no schedules to read
 * (the demo's private keys have none).
 */
export async function refuseWritingIntoInbox(out: string, config?: ResolvedConfig): Promise<void> {
  const written = resolve(out);
  const real = await realLocation(written);
  let inbox = conventionalInbox(written) ?? conventionalInbox(real);
  if (inbox === undefined && config !== undefined) inbox = await scheduledInbox(real, config);
  if (inbox !== undefined) {
    throw new UsageError(`cannot write into ${out}: it is in ${inbox}, whose files a watcher or a scheduled run pays as manifests; nothing was written (choose another --out or reportsDir)`);
  }
}

/** The path up to its first folder named inbox (any case, as some file systems ignore it), if any. */
function conventionalInbox(path: string): string | undefined {
  const parts = path.split(sep);
  const at = parts.findIndex((part) => part.toLowerCase() === 'inbox');
  return at === -1 ? undefined : parts.slice(0, at + 1).join(sep);
}

/** The inbox of a schedule's folder that `real` is in or under. */
async function scheduledInbox(real: string, config: ResolvedConfig): Promise<string | undefined> {
  const context = await openContext(config);
  try {
    for (const { run } of await listSchedules(context)) {
      const inbox = join(run.dir, 'inbox');
      if (isWithin(await realLocation(inbox), real)) return inbox;
    }
    return undefined;
  } finally {
    await context.close();
  }
}

/** Where `path` really leads: its nearest existing folder with links resolved, and the rest as written. */
async function realLocation(path: string): Promise<string> {
  try {
    return await realpath(path);
  } catch {
    const parent = dirname(path);
    return parent === path ? path : join(await realLocation(parent), basename(path));
  }
}
