import type { ActionKind } from '../batches/needs-action.js';
import { plural } from '../readable-numbers.js';

/** How many rows of each kind need action, as people read it: the headings of `status --problems` and the words of run's last line. */
export const PROBLEM_COUNTS: Record<ActionKind, (n: number) => string> = {
  unknown: (n) => `${plural(n, 'payment needs', 'payments need')} a person (unknown)`,
  reversal_unknown: (n) => `${plural(n, 'reversal needs', 'reversals need')} a person (reversal_unknown)`,
  conflict: (n) => `${plural(n, 'payment has', 'payments have')} a conflicting paid answer`,
  failed: (n) => `${plural(n, 'payment')} failed`,
  declined: (n) => `${plural(n, 'payment was', 'payments were')} declined`,
  rejected: (n) => `${plural(n, 'row was', 'rows were')} rejected`,
};
