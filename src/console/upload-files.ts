import { chmod, mkdir, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { ErrorRequestHandler, RequestHandler } from 'express';
import multer from 'multer';
import { UsageError } from '../errors.js';
import { UPLOAD_TTL_MS } from './uploads.js';

/**
 * Uploaded manifests on disk, between their validation and their submission: in a folder only this
 * program may open (0700), each file 0600 under a random name (multer's), never the name the
 * browser sent. The folder is swept of files older than any upload record can be.
 */

export const UPLOAD_LIMIT_MB = 50;

// The upload form's own fields: _csrf, account and the one file. More of anything is not that form.
const LIMITS = {
  fileSize: UPLOAD_LIMIT_MB * 1024 * 1024,
  files: 1,
  fields: 2,
  parts: 3,
  fieldNameSize: 100,
  fieldSize: 1024,
  headerPairs: 20,
};

/** Receives the form's one file, `manifest`, into `dir`; a refused upload is a UsageError saying why, its file removed. */
export function receiveManifest(dir: string): RequestHandler {
  let ready: Promise<void> | undefined;
  const parse = multer({
    storage: multer.diskStorage({
      destination: (_request, _file, callback) => {
        ready ??= privateFolder(dir);
        ready.then(() => callback(null, dir), (error: Error) => {
          ready = undefined;
          callback(error, dir);
        });
      },
    }),
    limits: LIMITS,
    // Browsers send a file's name as UTF-8, not in multer's default Latin-1.
    defParamCharset: 'utf8',
  }).single('manifest');
  return (request, response, next) => {
    sweepStale(dir)
      .then(() => new Promise<void>((resolve, reject) => parse(request, response, (error?: unknown) => (error ? reject(uploadRefusal(error)) : resolve()))))
      // multer's files are as the process's umask makes them; the folder is private anyway.
      .then(() => request.file && chmod(request.file.path, 0o600))
      .then(() => next(), next);
  };
}

/** The last handler of a route that received an upload: any error removes the file before it is shown. */
export const removeUploadOnError: ErrorRequestHandler = (error, request, _response, next) => {
  void removeUpload(request.file?.path).then(() => next(error), () => next(error));
};

export async function removeUpload(path: string | undefined): Promise<void> {
  if (path !== undefined) await rm(path, { force: true });
}

/** The name the browser sent for a file, as people and the batch's `source` may show it: no folders, no control characters. */
export function fileNameForPeople(sent: string | undefined): string {
  const base = (sent ?? '').split(/[\\/]/).pop()!;
  const clean = Array.from(base.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, '').trim()).slice(0, 100).join('');
  return clean === '' || clean === '.' || clean === '..' ? 'upload.csv' : clean;
}

async function privateFolder(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  // A folder that existed before keeps the mode it had: make it private too.
  await chmod(dir, 0o700);
}

/** Uploads whose record has certainly expired (never submitted): removed. Only multer's random names, should the folder hold anything else. */
async function sweepStale(dir: string): Promise<void> {
  const names = (await readdir(dir).catch(() => [] as string[])).filter((name) => /^[0-9a-f]{32}$/.test(name));
  const before = Date.now() - 2 * UPLOAD_TTL_MS;
  await Promise.all(names.map(async (name) => {
    const path = join(dir, name);
    const info = await stat(path).catch(() => undefined);
    if (info?.isFile() && info.mtimeMs < before) await rm(path, { force: true });
  }));
}

function uploadRefusal(error: unknown): unknown {
  // The disk refused (full, no permission): the dashboard's fault, not the person's; logged as such.
  if (typeof (error as NodeJS.ErrnoException).syscall === 'string') return error;
  if (error instanceof multer.MulterError) {
    switch (error.code) {
      case 'LIMIT_FILE_SIZE':
        return new UsageError(`the file is larger than ${UPLOAD_LIMIT_MB} MB; split the manifest into smaller files; nothing was recorded`);
      case 'LIMIT_FILE_COUNT':
      case 'LIMIT_UNEXPECTED_FILE':
        return new UsageError('send one manifest file, in the "Manifest (CSV)" field; nothing was recorded');
      default:
        return new UsageError('this form carried fields the upload form does not have, or values too long for them; reload the page and try again; nothing was recorded');
    }
  }
  return new UsageError('the upload did not arrive whole, or is not a form upload; try again; nothing was recorded');
}
