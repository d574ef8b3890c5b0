import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { UsageError } from '../errors.js';

/**
 * Writes a report's files so that each is found whole or not at all: every file is written beside
 * its destination under a temporary name (same folder, so the rename stays on one file system) and
 * renamed into place only once all of them are complete. A failure part-way (the ledger, a full
 * disk, a place that cannot be written) removes the temporary files and leaves what was there.
 */
export async function writeWholeFiles<T>(paths: readonly string[], write: (temps: string[]) => Promise<T>): Promise<T> {
  // Checked first so that no file is renamed into place while another one's place is taken.
  for (const path of paths) await prepare(path);
  const tag = randomBytes(4).toString('hex');
  const temps = paths.map((path) => join(dirname(path), `.${basename(path)}.${tag}.partial`));
  try {
    const result = await write(temps);
    for (const [i, temp] of temps.entries()) await rename(temp, paths[i]!);
    return result;
  } catch (error) {
    throw asCannotWrite(error, paths, temps);
  } finally {
    await Promise.all(temps.map((temp) => rm(temp, { force: true })));
  }
}

async function prepare(path: string): Promise<void> {
  try {
    await mkdir(dirname(path), { recursive: true });
    if ((await stat(path).catch(() => undefined))?.isDirectory()) throw new UsageError(`cannot write ${path}: a folder has that name (--out names a file)`);
  } catch (error) {
    throw asCannotWrite(error, [path], [path]);
  }
}

/** A file the system refused (no such folder, no permission, disk full) is one line naming the report's file, not its temporary one. */
function asCannotWrite(error: unknown, paths: readonly string[], temps: readonly string[]): unknown {
  const failure = error as NodeJS.ErrnoException;
  if (typeof failure?.syscall !== 'string' || typeof failure.path !== 'string') return error;
  const at = temps.indexOf(failure.path);
  return new UsageError(`cannot write ${at === -1 ? failure.path : paths[at]}: ${failure.code ?? failure.message}`);
}
