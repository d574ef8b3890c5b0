import { z } from 'zod';

/**
 * What one provider call did, in the only terms the rest of the system understands. Each adapter
 * maps its own wire codes into this; nothing outside src/providers ever sees a provider's codes
 * except as the opaque `code` string copied into the report.
 *
 * - paid: the money moved; `reference` is the provider's transaction id.
 * - declined: the provider refused; nothing moved, and sending again will not help.
 * - retryable: nothing moved; sending again later may work. `throttled` marks account-wide
 *   back-pressure (HTTP 429/503) that slows the whole account instead of using up attempts.
 * - unknown: the call may or may not have moved money (timeout, dropped connection, 5xx).
 */
const retryable = z.object({
  kind: z.literal('retryable'),
  code: z.string(),
  message: z.string(),
  throttled: z.boolean(),
  retryAfterMs: z.number().int().nonnegative().optional(),
});
const unknown = z.object({ kind: z.literal('unknown'), code: z.string(), message: z.string() });

export const outcomeSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('paid'), reference: z.string(), code: z.string(), message: z.string() }),
  z.object({ kind: z.literal('declined'), code: z.string(), message: z.string() }),
  retryable,
  unknown,
]);

export type Outcome = z.infer<typeof outcomeSchema>;
export type OutcomeKind = Outcome['kind'];

/** The outcomes every call shares, whatever it asks for: nothing moved (retry later), or in doubt. */
export type UndecidedOutcome = z.infer<typeof retryable> | z.infer<typeof unknown>;

/**
 * What one reversal call did (ProviderAdapter.reversal), in the same terms:
 *
 * - reversed: the money came back; `reference` is the provider's id for the reversal.
 * - refused: the provider would not reverse it (e.g. the card no longer holds the amount, no such
 *   payment to void); nothing moved, and asking again as it is will not help.
 * - retryable, unknown: as for a payment. An unknown reversal is never sent again by itself.
 */
export const reversalOutcomeSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('reversed'), reference: z.string(), code: z.string(), message: z.string() }),
  z.object({ kind: z.literal('refused'), code: z.string(), message: z.string() }),
  retryable,
  unknown,
]);

export type ReversalOutcome = z.infer<typeof reversalOutcomeSchema>;
export type ReversalOutcomeKind = ReversalOutcome['kind'];
