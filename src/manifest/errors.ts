import { StipendError } from '../errors.js';
import { formatProblem, type Problem } from './problems.js';

/** The manifest file cannot be read at all (missing, a folder, no permission). */
export class ManifestFileError extends StipendError {
  constructor(path: string, error: NodeJS.ErrnoException) {
    super('MANIFEST_FILE', `cannot read the manifest ${path}: ${describeErrno(error)}`, { cause: error });
  }
}

/**
 * The manifest's content stops the reading: not UTF-8, not CSV, no usable header, no rows. The scan
 * reports these as file problems; a second pass meeting one (the file changed) fails with it.
 */
export class ManifestContentError extends StipendError {
  constructor(readonly problems: Problem[]) {
    super('MANIFEST_INVALID', problems.map(formatProblem).join('; '));
  }
}

function describeErrno(error: NodeJS.ErrnoException): string {
  switch (error.code) {
    case 'ENOENT':
      return 'no such file';
    case 'EISDIR':
      return 'it is a folder, not a file';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    default:
      return error.code ?? error.message;
  }
}

/** Errors of the file system (they name the failed system call) become a ManifestFileError; others pass. */
export function asFileError(path: string, error: unknown): unknown {
  return error instanceof Error && typeof (error as NodeJS.ErrnoException).syscall === 'string' ? new ManifestFileError(path, error) : error;
}
