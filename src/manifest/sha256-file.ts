import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { asFileError } from './errors.js';

/** Hex SHA-256 of the file's bytes, streamed: it identifies the exact manifest a batch paid. */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  try {
    for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  } catch (error) {
    throw asFileError(path, error);
  }
  return hash.digest('hex');
}
