// Loaded with `node --import`: appends every module URL the process resolves to the file named by
// RECORD_IMPORTS, so a test can tell which modules a command line loaded.
import { appendFileSync } from 'node:fs';
import { register } from 'node:module';

if (import.meta.url.endsWith('?hooks')) {
  // Module hooks run in a thread of their own in Node 20: this copy of the file is that side.
} else {
  register(`${import.meta.url}?hooks`);
}

export async function resolve(specifier, context, next) {
  const resolved = await next(specifier, context);
  appendFileSync(process.env.RECORD_IMPORTS, `${resolved.url}\n`);
  return resolved;
}
