import { type BigIntStats, constants } from 'node:fs';
import { type FileHandle, lstat, open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/**
 * Only plain files are read from a drop folder. A symbolic link would have the watcher read (and
 * pay, or quote in an errors file) a file the dropper cannot read themselves; a FIFO or a device
 * would block it or have side effects on open; a folder named *.csv is no manifest. Such an entry
 * is refused by what lstat says of it, before anything opens it.
 */
function refusalOf(entry: BigIntStats): string | undefined {
  if (entry.isSymbolicLink()) return 'a symbolic link, not a regular file: not read';
  if (entry.isDirectory()) return 'a folder, not a regular file: not read';
  if (entry.isFIFO()) return 'a named pipe (FIFO), not a regular file: not read';
  if (entry.isSocket()) return 'a socket, not a regular file: not read';
  if (entry.isCharacterDevice() || entry.isBlockDevice()) return 'a device, not a regular file: not read';
  if (!entry.isFile()) return 'not a regular file: not read';
  // Another name of someone else's file (where the system lets people link files they cannot read).
  if (entry.nlink > 1n) return 'a file with other names (hard links), which may be another person\'s file: not read';
  return undefined;
}

const REPLACED = 'replaced by another file between listing and opening: not read';

/**
 * Opens `path` for reading only when it is still the regular file `listed` (its lstat) describes:
 * O_NOFOLLOW refuses a link put in its place, O_NONBLOCK keeps a FIFO put there from blocking the
 * open, and the opened file must have the listed device and inode. Everything read afterwards is
 * read from this handle, never by the path again.
 */
export async function openListed(path: string, listed: BigIntStats): Promise<FileHandle | { refused: string }> {
  const refusal = refusalOf(listed);
  if (refusal !== undefined) return { refused: refusal };
  let handle: FileHandle;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ELOOP') return { refused: REPLACED };
    throw error;
  }
  const opened = await handle.stat({ bigint: true });
  const refused = opened.dev !== listed.dev || opened.ino !== listed.ino ? REPLACED : refusalOf(opened);
  if (refused === undefined) return handle;
  await handle.close();
  return { refused };
}

/**
 * Replaces the dropped file at `path` (in processing/) with this process's own copy of it, read
 * through the handle openListed checked, so that what is hashed, validated, paid and archived is
 * that file's content whatever the dropper does to their file later. The copy is readable by no
 * more people than the file was (its group and other bits); its owner, this process, may read it.
 * Written beside it and renamed over it once complete and synced: a crash leaves the file or its
 * whole copy. Returns why when the entry is not a regular file; it is then left as it is, unread.
 */
export async function takeOwnCopy(path: string): Promise<{ refused?: string }> {
  const source = await openListed(path, await lstat(path, { bigint: true }));
  if ('refused' in source) return source;
  const temp = join(dirname(path), `.${basename(path)}.taking`);
  try {
    const mode = 0o600 | (Number((await source.stat({ bigint: true })).mode) & 0o066);
    await rm(temp, { force: true });
    const copy = await open(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, mode);
    try {
      await copyThrough(source, copy);
      await copy.sync();
    } finally {
      await copy.close();
    }
    await rename(temp, path);
    return {};
  } finally {
    await source.close();
    await rm(temp, { force: true });
  }
}

/**
 * Every byte `from` holds, written to `to`. Plain reads and writes: a stream made from a FileHandle
 * and left open keeps the handle from ever closing.
 */
async function copyThrough(from: FileHandle, to: FileHandle): Promise<void> {
  const buffer = Buffer.allocUnsafe(1 << 20);
  for (let position = 0; ; ) {
    const { bytesRead } = await from.read(buffer, 0, buffer.length, position);
    if (bytesRead === 0) return;
    for (let written = 0; written < bytesRead; ) written += (await to.write(buffer, written, bytesRead - written)).bytesWritten;
    position += bytesRead;
  }
}
