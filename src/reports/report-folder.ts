import { resolve } from 'node:path';
import type { StipendContext } from '../context.js';

/**
 * Where a batch's report lives: the folder it was last written under (run --out, reportsDir, a
 * watcher's outbox, stipend report --out), so a command that changes the batch later rewrites the
 * file people already have, not a second copy elsewhere. Kept absolute, since the next command may
 * run from another working directory.
 */

export async function rememberReportFolder(context: StipendContext, batchId: string, outDir: string): Promise<void> {
  const { provider, account } = await context.batches.ownerOf(batchId);
  await context.redis.set(context.keys.reportFolder(provider, account, batchId), resolve(outDir));
}

/** The folder the batch's report was last written under; reportsDir for a batch never reported. */
export async function reportFolder(context: StipendContext, batchId: string): Promise<string> {
  const { provider, account } = await context.batches.ownerOf(batchId);
  return (await context.redis.get(context.keys.reportFolder(provider, account, batchId))) ?? context.config.reportsDir;
}
