import { z } from 'zod';

/**
 * What a person may do in the console. Each role reads everything; beyond that it grants exactly
 * its own actions, so the person who manages people is not thereby able to move money, and an
 * approver who should also submit needs a second person's decision anyway (maker-checker).
 *
 *   viewer     read: batches, rows, reports, finance exports, the audit trail
 *   submitter  + upload, validate and submit manifests
 *   approver   + approve and cancel batches, resolve unknown rows, reverse paid ones
 *   admin      + add, remove and reset people
 */
export const ROLES = ['viewer', 'submitter', 'approver', 'admin'] as const;
export const role = z.enum(ROLES);
export type Role = z.infer<typeof role>;

export const ACTIONS = ['read', 'submit', 'decide', 'manage-people'] as const;
export type Action = (typeof ACTIONS)[number];

const GRANTS: Record<Role, readonly Action[]> = {
  viewer: ['read'],
  submitter: ['read', 'submit'],
  approver: ['read', 'decide'],
  admin: ['read', 'manage-people'],
};

export function may(who: Role, action: Action): boolean {
  return GRANTS[who].includes(action);
}

/** What a role does, in words, for the people page and `stipend users list`. */
export const ROLE_DESCRIPTIONS: Record<Role, string> = {
  viewer: 'reads batches, reports, exports and the audit trail',
  submitter: 'uploads and submits manifests',
  approver: 'approves and cancels batches, resolves unknown rows, reverses payments',
  admin: 'adds, removes and resets people',
};
