import cliProgress from 'cli-progress';
import type { BatchRecord } from '../ledger/batches.js';
import { everyInterval, payingLine, printLine as print } from './progress-lines.js';

/**
 * A progress bar where stderr is a terminal. Unless stdout is a terminal too (the one showing the
 * bar), a plain `paying: …` line on stdout every interval: a log, a pipe or CI sees no bar, and a
 * long wait must not look like a hang there. `note` prints a line on stdout, above the bar on a
 * terminal.
 */
export function batchProgress(): { update(batch: BatchRecord): void; note(line: string): void; stop(): void } {
  let latest: BatchRecord | undefined;
  const bar = process.stderr.isTTY ? terminalBar() : undefined;
  const lines = bar && process.stdout.isTTY ? undefined : everyInterval(() => latest && payingLine(latest), print);
  return {
    update(batch) {
      latest = batch;
      bar?.update(batch);
    },
    note(line) {
      bar?.pause();
      print(line);
    },
    stop() {
      lines?.stop();
      bar?.stop();
    },
  };
}

function terminalBar(): { update(batch: BatchRecord): void; pause(): void; stop(): void } {
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
    pause() {
      // The bar stops where it stands and starts again below the note at the next update.
      if (started) bar.stop();
      started = false;
    },
    stop: () => bar.stop(),
  };
}
