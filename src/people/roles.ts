import { z } from 'zod';

/**
 * What a person may do in the console. Roles are ranked: each may do what the ones before it may,
 * so a team of two can each submit and approve the other's batches (never their own: maker-checker
 * is judged on who submitted, batches/approval.ts).
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
  approver: ['read', 'submit', 'decide'],
  admin: ['read', 'submit', 'decide', 'manage-people'],
};

export function may(who: Role, action: Action): boolean {
  return GRANTS[who].includes(action);
}

/** What a role does, in words, for the people page and `stipend users list`. */
export const ROLE_DESCRIPTIONS: Record<Role, string> = {
  viewer: 'reads batches, reports, exports and the audit trail',
  submitter: 'reads; uploads and submits manifests',
  approver: 'as a submitter; approves and cancels others\' batches, resolves unknown rows, reverses payments',
  admin: 'as an approver; adds, removes and resets people',
};
