import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip, gunzipSync } from 'node:zlib';
import { joinInside } from '../join-inside.js';
import { ArchiveDamagedError, ArchiveWriteError } from './archive-errors.js';

/**
 * An archived batch on disk: one folder per batch, `<dir>/<provider>/<account>/<batchId>/`, holding
 * gzip files (ledger.jsonl.gz: the batch record, its rows, its payment records and its audit entries;
 * the report files as stipend report writes them) and SHA256SUMS, which `sha256sum -c` checks. The
 * SHA256SUMS file's own SHA-256 is kept in Redis (archive-index.ts), so a file changed on disk,
 * SHA256SUMS and all, is still found out. Files are 0600 in 0700 folders: they hold payees' names.
 */

export const LEDGER_FILE = 'ledger.jsonl.gz';
export const SUMS_FILE = 'SHA256SUMS';

/** The batch's folder, relative to the archive's own folder (what the index keeps). */
export function batchFolder(owner: { provider: string; account: string }, batchId: string): string {
  return join(owner.provider, owner.account, batchId);
}

/**
 * Writes a batch's files into `<dir>/<folder>` at once: into a `.partial` folder first, each file
 * flushed to disk, then renamed into place (a crash leaves a `.partial` folder, removed by the next
 * try, never a half-written archive). `files`: each name and its content, gzipped as it is written.
 * Returns the SHA-256 of the SHA256SUMS written.
 */
export async function writeBatchFolder(dir: string, folder: string, files: { name: string; content: () => AsyncIterable<string> | Iterable<string> }[]): Promise<string> {
  try {
    return await writeFolder(dir, folder, files);
  } catch (error) {
    // A file system that refuses (its errors name a path) is the operator's to fix; Redis errors
    // (reading the payments as they are written) are not this.
    if (typeof (error as NodeJS.ErrnoException).path === 'string') throw new ArchiveWriteError(dir, error);
    throw error;
  }
}

async function writeFolder(dir: string, folder: string, files: { name: string; content: () => AsyncIterable<string> | Iterable<string> }[]): Promise<string> {
  const final = joinInside(dir, folder);
  const partial = `${final}.partial`;
  await rm(partial, { recursive: true, force: true });
  await mkdir(partial, { recursive: true, mode: 0o700 });
  const sums: string[] = [];
  for (const file of files) {
    const path = join(partial, file.name);
    const hash = createHash('sha256');
    await pipeline(Readable.from(file.content()), createGzip(), async function* (chunks: AsyncIterable<Buffer>) {
      for await (const chunk of chunks) {
        hash.update(chunk);
        yield chunk;
      }
    }, createWriteStream(path, { mode: 0o600 }));
    await flush(path);
    sums.push(`${hash.digest('hex')}  ${file.name}\n`);
  }
  const sumsText = sums.join('');
  await writeDurably(join(partial, SUMS_FILE), sumsText);
  await flush(partial);
  // A folder left by a try that wrote it but never recorded it in the index is replaced.
  await rm(final, { recursive: true, force: true });
  await rename(partial, final);
  await flush(dirname(final));
  return sha256(sumsText);
}

/**
 * Reads one file of an archived batch, unzipped, after checking the whole folder: SHA256SUMS against
 * the checksum the index kept, and the file against SHA256SUMS. ArchiveDamagedError otherwise.
 */
export async function readBatchFile(dir: string, folder: string, sumsSha256: string, name: string): Promise<string> {
  const where = joinInside(dir, folder);
  const sums = await readFile(join(where, SUMS_FILE), 'utf8').catch((error: NodeJS.ErrnoException) => {
    throw new ArchiveDamagedError(where, `cannot read ${SUMS_FILE} (${error.code ?? String(error)})`);
  });
  if (sha256(sums) !== sumsSha256) throw new ArchiveDamagedError(where, `${SUMS_FILE} is not the one written when the batch was archived`);
  const expected = sums.split('\n').find((line) => line.endsWith(`  ${name}`))?.slice(0, 64);
  if (expected === undefined) throw new ArchiveDamagedError(where, `${SUMS_FILE} lists no ${name}`);
  const zipped = await readFile(join(where, name)).catch((error: NodeJS.ErrnoException) => {
    throw new ArchiveDamagedError(where, `cannot read ${name} (${error.code ?? String(error)})`);
  });
  if (sha256(zipped) !== expected) throw new ArchiveDamagedError(where, `${name} does not match its SHA-256 in ${SUMS_FILE}`);
  return gunzipSync(zipped).toString('utf8');
}

/** The files of an archived batch folder other than SHA256SUMS (the reports among them), by name. */
export async function batchFileNames(dir: string, folder: string): Promise<string[]> {
  return (await readdir(joinInside(dir, folder))).filter((name) => name !== SUMS_FILE).sort();
}

function sha256(content: string | Buffer): string {
  return createHash('sha256').update(content).digest('hex');
}

async function writeDurably(path: string, text: string): Promise<void> {
  const file = await open(path, 'w', 0o600);
  try {
    await file.writeFile(text);
    await file.sync();
  } finally {
    await file.close();
  }
}

/** fsync a written file or a folder (its entries: a rename is on disk once its folder is flushed). */
async function flush(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
