import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Response } from 'express';

/**
 * A report the console offers for download, written by the same code as the CLI's (reports/) into a
 * folder of its own that only this user can read (mkdtemp makes it 0700), sent as an attachment,
 * and the folder removed once it is sent or the browser went away: nothing is left on the disk.
 * The folder's name carries the installation's Redis prefix, so whose it is shows. `write` answers
 * the path of the file to send.
 */
export async function sendWrittenFile(response: Response, prefix: string, filename: string, write: (dir: string) => Promise<string>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), downloadFolderPrefix(prefix)));
  try {
    const path = await write(dir);
    await new Promise<void>((resolve, reject) => {
      response.download(path, filename, { cacheControl: false, etag: false, lastModified: false }, (error) => {
        // Once the file has started, a failure (a browser gone) can only end the response.
        if (error && !response.headersSent) reject(error);
        else resolve();
      });
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The start of the name of every download folder of the installation with this Redis prefix. */
export function downloadFolderPrefix(prefix: string): string {
  return `stipend-console-download-${prefix.replace(/[^A-Za-z0-9_-]/g, '_')}-`;
}
