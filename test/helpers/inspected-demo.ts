import { writeFile } from 'node:fs/promises';
import { startWorkers } from '../../jobs/workers.js';
import { demoCommand } from '../../src/commands/demo.js';
import { readKeysUnder } from './redis-contents.js';

/**
 * `stipend demo` in a process of its own, as the CLI runs it (its stdout and stderr are the
 * parent's to read, its log level LOG_LEVEL), that also writes, before the demo stops and deletes
 * everything, what it left: every Redis key under its prefix with its contents, and the tokens and
 * access ids the sandboxes handed out. Usage: inspected-demo.ts <reports folder> <leftovers file>.
 */
const [out, leftoversFile] = process.argv.slice(2) as [string, string];
process.exitCode = await demoCommand({ out }, { startWorkers }, async ({ redis, prefix, sandboxes }) => {
  const issuedSecrets = [...sandboxes.values()].flatMap((sandbox) => sandbox.issuedSecrets());
  await writeFile(leftoversFile, JSON.stringify({ prefix, issuedSecrets, keys: await readKeysUnder(redis, prefix) }));
});
