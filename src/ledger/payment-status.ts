import { z } from 'zod';

/** A paid payment being given back, given back, or in doubt about it: final for paying, never sent again. */
export const REVERSAL_STATUSES = ['reversing', 'reversed', 'reversal_unknown'] as const;
export const FINAL_STATUSES = ['paid', 'declined', 'failed', 'unknown', ...REVERSAL_STATUSES] as const;
export const paymentStatus = z.enum(['queued', 'sending', ...FINAL_STATUSES]);
export type PaymentStatus = z.infer<typeof paymentStatus>;
export type FinalStatus = (typeof FINAL_STATUSES)[number];
