import { expect, it } from 'vitest';
import type { Outcome } from '../../src/providers/outcome.js';
import type { RunningSandbox } from '../../src/sandbox/index.js';

/**
 * The rule for every provider (docs/providers.md, "Rules common to every provider"): a
 * server error, a dropped connection (before or after the provider applied the payment) or an
 * unreadable answer is `unknown`, never paid or declined. Checked for one adapter against its
 * sandbox: `moved()` is what the payee received, in cents.
 */
export function itTreatsLostAnswersAsUnknown(options: {
  sandbox: () => RunningSandbox;
  /** Prepares what a payment needs (e.g. a requestId) before the fault is set, then pays. */
  pay: () => Promise<() => Promise<Outcome>>;
  moved: () => number | Promise<number>;
  cents: number;
}): void {
  it.each([
    ['server-error', 'HTTP_500', 0],
    ['drop-before', 'NO_RESPONSE', 0],
    ['drop-after', 'NO_RESPONSE', 1],
    ['garbage', 'HTTP_200_UNREADABLE', 0],
  ] as const)('%s → %s', async (kind, code, applied) => {
    const send = await options.pay();
    options.sandbox().setFaults([{ kind }]);
    expect(await send()).toEqual({ kind: 'unknown', code, message: expect.any(String) });
    expect(options.sandbox().transactions()).toHaveLength(applied);
    expect(await options.moved()).toBe(applied * options.cents);
  });
}
