import { lstat, rm, stat, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

/**
 * Writes `<file><suffix>` (its .errors.csv or .duplicate.txt) readable by no more people than both
 * the folder it is in and the file it is about: an errors file quotes cells of that file, and the
 * folder's mode is how an operator says who may look in it. So its group and other bits are those
 * both grant (read and write only); its owner, this process, may always read and write it. Written
 * anew (O_EXCL, so never through a link found in its place).
 */
export async function writeNoteBeside(file: string, suffix: string, text: string): Promise<string> {
  const path = `${file}${suffix}`;
  const [folder, about] = await Promise.all([stat(dirname(file)), lstat(file)]);
  const mode = 0o600 | (folder.mode & about.mode & 0o066);
  await rm(path, { force: true });
  await writeFile(path, text, { mode, flag: 'wx' });
  return path;
}
