import { stat } from 'node:fs/promises';
import { getAdapter } from '../providers/index.js';
import { isAcceptable } from '../batches/submit.js';
import { scanManifest } from '../manifest/index.js';
import { describeScan, printProblems } from './output.js';
import { printLine, withProgressLines } from './progress-lines.js';

/**
 * `stipend validate`: exit 0 valid, 1 invalid. Needs neither Redis nor a provider. A long scan
 * says how far it got every interval: on stdout, or on stderr with --json (stdout is the document).
 */
export async function validateCommand(file: string, options: { provider: string; json?: boolean }): Promise<number> {
  const adapter = getAdapter(options.provider);
  // A file that cannot be read is reported by the scan itself; its size only scales the lines.
  const totalBytes = (await stat(file).catch(() => undefined))?.size ?? 0;
  const progressTo = options.json ? (line: string) => void process.stderr.write(`${line}\n`) : printLine;
  const scan = await withProgressLines(
    (onProgress) => scanManifest(file, adapter, (read) => onProgress({ stage: 'validating', ...read, totalBytes })),
    progressTo,
  );
  const valid = isAcceptable(scan, false);
  if (options.json) {
    process.stdout.write(`${JSON.stringify({ valid, ...scan }, null, 2)}\n`);
  } else if (valid) {
    process.stdout.write(`valid: ${describeScan(scan)}\n`);
  } else {
    printProblems(scan, (line) => process.stdout.write(`${line}\n`));
    process.stdout.write(`invalid: ${describeScan(scan)}\n`);
  }
  return valid ? 0 : 1;
}
