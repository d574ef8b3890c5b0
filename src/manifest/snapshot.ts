import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UsageError } from '../errors.js';

/**
 * `use` given a private copy of the manifest, removed afterwards. Every reading of a submission
 * (the scan, then the rows) reads this copy, so a file changed, or still being written, meanwhile
 * cannot slip in rows the scan never saw.
 */
export async function withManifestSnapshot<T>(file: string, use: (snapshot: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'stipend-'));
  const snapshot = join(dir, 'manifest.csv');
  try {
    await copyFile(file, snapshot).catch((error: NodeJS.ErrnoException) => {
      throw new UsageError(`cannot read ${file}: ${error.code === 'ENOENT' ? 'no such file' : error.code ?? error.message}`);
    });
    return await use(snapshot);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
