import { setTimeout as sleep } from 'node:timers/promises';
import type { UndecidedOutcome } from '../providers/outcome.js';

/** Calls for one card before its answer stands: a card call moves no money, so retrying is safe. */
export const CARD_CALL_ATTEMPTS = 3;

/** Waits before the next attempt after a retry-later answer: what the provider asked, else a second. */
export async function pauseAfter(change: UndecidedOutcome | undefined): Promise<void> {
  if (change?.kind !== 'retryable') return;
  await sleep(change.retryAfterMs ?? 1000);
}
