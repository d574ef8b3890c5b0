import type { SubmitProgress } from '../batches/submit.js';
import type { BatchRecord } from '../ledger/batches.js';
import { FINAL_STATUSES } from '../ledger/payments.js';
import { count, plural } from '../readable-numbers.js';

/**
 * Plain progress lines, for logs, pipes and CI, where a progress bar shows nothing: long work (a
 * large manifest validated or queued, a batch being paid) says where it stands every interval, so
 * nobody reading the log takes it for a hang.
 */

const DEFAULT_EVERY_MS = 10_000;

/** The interval: STIPEND_PROGRESS_EVERY_MS (tests make it short), else 10 s. */
export function progressEveryMs(): number {
  const ms = Number(process.env.STIPEND_PROGRESS_EVERY_MS);
  return Number.isSafeInteger(ms) && ms > 0 ? ms : DEFAULT_EVERY_MS;
}

/** Every interval, the line `describe` gives (none while it gives undefined), until stopped. */
export function everyInterval(describe: () => string | undefined, write: (line: string) => void): { stop(): void } {
  const timer = setInterval(() => {
    const line = describe();
    if (line !== undefined) write(line);
  }, progressEveryMs());
  // Lines about work never keep the process alive once the work is over.
  timer.unref();
  return { stop: () => clearInterval(timer) };
}

/** A line on stdout, where commands print for people. */
export const printLine = (line: string): void => void process.stdout.write(`${line}\n`);

/** `work`, given a listener for its progress, with a line every interval saying where it stands. */
export async function withProgressLines<T>(
  work: (onProgress: (progress: SubmitProgress) => void) => Promise<T>,
  write: (line: string) => void = printLine,
): Promise<T> {
  let latest: SubmitProgress | undefined;
  const lines = everyInterval(() => latest && submitLine(latest), write);
  try {
    return await work((progress) => (latest = progress));
  } finally {
    lines.stop();
  }
}

/** e.g. "validating: 1,234 rows read (12.5 MB of 200.0 MB)…", "queuing: 1,234 of 20,000 rows…". */
export function submitLine(progress: SubmitProgress): string {
  switch (progress.stage) {
    case 'validating':
      return `validating: ${plural(progress.rows, 'row')} read (${megabytes(progress.bytes)} of ${megabytes(progress.totalBytes)})…`;
    case 'checking':
      return `checking the provider's other accounts: ${count(progress.rows)} of ${plural(progress.totalRows, 'row')}…`;
    case 'funding':
      return 'checking the funding balance…';
    case 'queuing':
      return `queuing: ${count(progress.rows)} of ${plural(progress.totalRows, 'row')}…`;
  }
}

/** e.g. "paying: 1,234 of 20,000 final (6%): 1,230 paid, 4 failed…". */
export function payingLine(batch: BatchRecord): string {
  // Rounded down: 100% only once every payment is final.
  const percent = batch.accepted > 0 ? Math.floor((batch.final * 100) / batch.accepted) : 100;
  const outcomes = FINAL_STATUSES.filter((s) => batch[`n_${s}`] > 0).map((s) => `${count(batch[`n_${s}`])} ${s}`);
  return `paying: ${count(batch.final)} of ${count(batch.accepted)} final (${percent}%)${outcomes.length > 0 ? `: ${outcomes.join(', ')}` : ''}…`;
}

/** 12_345_678 → "12.3 MB" (decimal megabytes, as file managers show sizes). */
function megabytes(bytes: number): string {
  const [whole, tenths] = (bytes / 1e6).toFixed(1).split('.');
  return `${count(Number(whole))}.${tenths} MB`;
}
