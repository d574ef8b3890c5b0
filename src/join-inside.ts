import { isAbsolute, join, relative, sep } from 'node:path';
import { StipendError } from './errors.js';

/** A name (a batch id, an account, a dropped file's) that would make a path lead out of its folder. */
export class PathOutsideError extends StipendError {
  constructor(base: string, names: readonly string[]) {
    super('PATH_OUTSIDE', `refused: ${JSON.stringify(names.join(sep))} would lead outside ${base}; nothing was written there`);
  }
}

/** Whether `path` is `base` itself or below it, as written (links are not followed). */
export function isWithin(base: string, path: string): boolean {
  const below = relative(base, path);
  return !(below === '..' || below.startsWith(`..${sep}`) || isAbsolute(below));
}

/**
 * `base` joined with names that come from data (batch ids, account names, dropped files' names),
 * refused when the result is not strictly inside `base`: `..`, an absolute path or a NUL could
 * otherwise put a report, a manifest or an errors file anywhere the process may write. The names
 * are checked where they enter too (the command line, the configuration); this is the last guard.
 */
export function joinInside(base: string, ...names: string[]): string {
  const path = join(base, ...names);
  if (names.some((name) => name.includes('\0') || isAbsolute(name)) || relative(base, path) === '' || !isWithin(base, path)) throw new PathOutsideError(base, names);
  return path;
}
