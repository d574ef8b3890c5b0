import cliProgress from 'cli-progress';
import type { BatchRecord } from '../ledger/batches.js';

/**
 * A progress bar on a terminal; elsewhere (CI, pipes, logs) nothing until the batch is done.
 * `note` prints a line on stdout, above the bar on a terminal.
 */
export function batchProgress(): { update(batch: BatchRecord): void; note(line: string): void; stop(): void } {
  const print = (line: string) => process.stdout.write(`${line}\n`);
  if (!process.stderr.isTTY) return { update: () => {}, note: print, stop: () => {} };
  const bar = new cliProgress.SingleBar(
    { format: 'paying |{bar}| {value}/{total} settled | {paid} paid, {declined} declined, {failed} failed, {unknown} unknown', stream: process.stderr, hideCursor: true },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    update(batch) {
      const counts = { paid: batch.n_paid, declined: batch.n_declined, failed: batch.n_failed, unknown: batch.n_unknown };
      if (!started) bar.start(batch.accepted, batch.final, counts);
      started = true;
      bar.setTotal(batch.accepted);
      bar.update(batch.final, counts);
    },
    note(line) {
      // The bar stops where it stands and starts again below the note at the next update.
      if (started) bar.stop();
      started = false;
      print(line);
    },
    stop: () => bar.stop(),
  };
}
