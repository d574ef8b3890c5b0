import { getAdapter } from '../providers/index.js';
import { isAcceptable } from '../api.js';
import { scanManifest } from '../manifest/index.js';
import { describeScan, printProblems } from './output.js';

/** `stipend validate`: exit 0 valid, 1 invalid. Needs neither Redis nor a provider. */
export async function validateCommand(file: string, options: { provider: string; json?: boolean }): Promise<number> {
  const adapter = getAdapter(options.provider);
  const scan = await scanManifest(file, adapter);
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
