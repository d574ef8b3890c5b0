import { hostname, userInfo } from 'node:os';
import { z } from 'zod';
import { UsageError } from '../errors.js';

/**
 * Who made a decision. `identity` is what maker-checker compares and the audit trail keeps: one a
 * person cannot simply type. At the command line it is the operating-system user and the host
 * (`alice@ops-1`); the watcher and scheduled runs are services (`service:watch@ops-1`). A name given
 * with `--by` is only shown beside it (`displayName`), never compared.
 */
export const actor = z.object({
  identity: z.string().min(1),
  displayName: z.string().trim().min(1).optional(),
  /** Where a console decision came from: the browser's address, recorded beside this host. */
  via: z.string().min(1).optional(),
});
export type Actor = z.infer<typeof actor>;

// A Linux or macOS user name cannot hold a colon (it separates /etc/passwd's fields), so no person's
// identity starts with this.
const SERVICE = 'service:';

/** This machine's name: the host every decision made here is recorded from. */
export function thisHost(): string {
  return hostname();
}

/**
 * The person running this process, by operating-system user and host; `displayName` as given with
 * --by: one line of printable text (it is printed to terminals and written to reports).
 */
export function personHere(displayName?: string): Actor {
  if (displayName !== undefined && (/\p{Cc}/u.test(displayName) || displayName.trim() === '' || displayName.length > 100)) {
    throw new UsageError('--by must be a name of 1-100 printable characters on one line');
  }
  return actor.parse({ identity: `${osUser()}@${thisHost()}`, ...(displayName === undefined ? {} : { displayName }) });
}

// Nor with this: a person signed in to the console (people/people.ts), `console:alice`.
const CONSOLE = 'console:';

/**
 * A person signed in to the console, from the browser at `address`. Their identity is their console
 * name, never an operating-system user's: maker-checker compares console people with console people
 * and CLI users with CLI users (docs/console.md says how to keep one person to one identity).
 */
export function consolePerson(name: string, address: string): Actor {
  return { identity: `${CONSOLE}${name}`, via: address };
}

/** A service of this program on this host: `service:watch@host`, `service:schedule:<name>@host`, `service:worker@host`. */
export function serviceHere(service: string): Actor {
  return { identity: `${SERVICE}${service}@${thisHost()}` };
}

export function isServiceIdentity(identity: string): boolean {
  return identity.toLowerCase().startsWith(SERVICE);
}

/** Two identities are the same person when they match ignoring case (host names are case-insensitive). */
export function sameIdentity(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

/** `Bob Smith (bob@ops-1)`, or the identity alone: how people see who decided. */
export function describeActor(identity: string, displayName?: string): string {
  return displayName === undefined ? identity : `${displayName} (${identity})`;
}

/**
 * The name a decision is recorded under on the payment itself (resolved_by, reversal_by): the name
 * the person gave, else their identity (`console:ann`, `alice@ops-1`).
 */
export function recordedName(who: Actor): string {
  return who.displayName ?? who.identity;
}

/** The user name, or the numeric uid where the system has no name for it (a container's user). */
function osUser(): string {
  try {
    return userInfo().username;
  } catch {
    return `uid-${process.getuid?.() ?? 'unknown'}`;
  }
}
