import { relative } from 'node:path';
import type { FileEvent, FileListener } from '../ingest/ingest-file.js';
import { formatDuration } from './duration.js';
import { describeBatch } from './output.js';
import { plural, usd } from '../readable-numbers.js';
import { everyInterval, payingLine, submitLine } from './progress-lines.js';

/**
 * `stipend watch`'s lines for people, each starting with the file as it was dropped
 * (`inbox/ctpayer/main/jan.csv: …`): one for each thing that happens to a file, and every
 * interval one for each file under way saying where it stands.
 */
export function watchLines(root: string, write: (line: string) => void): { onFile: FileListener; stop(): void } {
  // Each file under way, and where it stands.
  const underWay = new Map<string, string>();
  const lines = everyInterval(() => (underWay.size > 0 ? [...underWay].map(([file, line]) => `${file}: ${line}`).join('\n') : undefined), write);
  const shown = (path: string) => relative(root, path);
  return {
    onFile(file, event) {
      if (event.kind === 'submitting') underWay.set(file, submitLine(event.progress));
      else if (event.kind === 'paying' || event.kind === 'queued') underWay.set(file, payingLine(event.batch));
      else underWay.delete(file);
      const line = eventLine(event, shown);
      if (line !== undefined) write(`${file}: ${line}`);
    },
    stop: () => lines.stop(),
  };
}

/** The line for an event; none for progress, which the interval's lines tell. */
function eventLine(event: FileEvent, shown: (path: string) => string): string | undefined {
  switch (event.kind) {
    case 'submitting':
    case 'paying':
      return undefined;
    case 'queued': {
      const { batch } = event;
      const skipped = batch.duplicates > 0 ? `, ${plural(batch.duplicates, 'row skipped as a duplicate', 'rows skipped as duplicates')}` : '';
      const approval = batch.state === 'awaiting_approval' ? `; awaiting approval by a person (stipend approve ${batch.batch_id})` : '';
      const what = event.before ? `following batch ${batch.batch_id}, queued before` : `batch ${batch.batch_id} queued`;
      return `${what}: ${plural(batch.accepted, 'payment')} (${usd(batch.accepted_cents)})${skipped}${approval}`;
    }
    case 'paid':
      return `paid: ${describeBatch(event.batch)}; archived as ${shown(event.archived)}, report ${shown(event.report)}`;
    case 'rejected': {
      const { scan } = event;
      const problems = scan && [
        ...(scan.fileProblems.length > 0 ? [plural(scan.fileProblems.length, 'file problem')] : []),
        ...(scan.rowProblemCount > 0 ? [plural(scan.rowProblemCount, 'row problem')] : []),
      ];
      return `rejected: ${event.refusal ?? problems?.join(', ')}; moved to rejected/, its problems in ${shown(event.errors)}; nothing was paid`;
    }
    case 'duplicate':
      return event.account === undefined
        ? `duplicate of batch ${event.batchId}: moved to duplicates/ (${shown(event.note)}); nothing was paid again`
        : `already held by account ${event.account} (batch ${event.batchId}): moved to duplicates/ (${shown(event.note)}); nothing was paid`;
    case 'failed':
      return `could not be processed (${event.error instanceof Error ? event.error.message : String(event.error)}); trying again in ${formatDuration(event.retryInMs)}`;
    case 'left':
      return `${event.reason}; left where it is`;
  }
}
