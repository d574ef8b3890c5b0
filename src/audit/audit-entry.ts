import { z } from 'zod';
import { type Actor, thisHost } from './actor.js';

/**
 * The audit trail: one Redis stream under the ledger prefix (RedisKeys.audit), one entry per
 * decision, appended by the same script (or MULTI) that records the decision, so a decision is never
 * kept without its entry nor an entry without its decision. The program appends (XADD, never
 * with MAXLEN or XTRIM): it grows by one entry per decision, some 100-250 bytes of Redis memory each
 * (MEMORY USAGE over 1,000 entries: about 110 for a `retried` one, about 215 for a `submitted` one
 * with its details). `retried`, `reversed` and `resolved` are one per payment; the others one per
 * batch. The only removal is `stipend archive`'s (archive/): a settled batch's entries move into its
 * checksummed files (XDEL once they are written), from which the trail reads them as before.
 *
 *   submitted  a batch recorded (by a person, or the watcher or a schedule); its total and the rule
 *   held       a worker's own approval rule required approval the submitter's did not
 *   approved   released by a person other than the submitter
 *   canceled   dropped before anything was sent
 *   abandoned  an interrupted enqueue given up (`stipend cancel` of an enqueuing batch)
 *   retried    a failed payment sent round again
 *   resolved   a person's verdict on an unknown payment or reversal
 *   reversed   a reversal of a paid payment asked for
 *   person_added, person_removed, password_reset
 *              the console's people changed (people/people.ts); these name no batch
 *
 * The entry's id is Redis's own clock (ms) when it was appended: when it happened, never a machine's.
 */
export const AUDIT_EVENTS = [
  'submitted', 'held', 'approved', 'canceled', 'abandoned', 'retried', 'resolved', 'reversed',
  'person_added', 'person_removed', 'password_reset',
] as const;
export type AuditEvent = (typeof AUDIT_EVENTS)[number];

/**
 * An entry as read back. `at`: its id's time. `host`: where the decision was made: the machine, and
 * for the console the browser's address (`ops-1 via 203.0.113.7`). `batch_id`: empty for the
 * people events.
 */
export const auditEntry = z
  .object({
    id: z.string().regex(/^\d+-\d+$/),
    event: z.enum(AUDIT_EVENTS),
    identity: z.string(),
    display_name: z.string().optional(),
    host: z.string(),
    batch_id: z.string(),
    payment_id: z.string().optional(),
    details: z.string().optional(),
  })
  .transform((entry) => ({ ...entry, at: new Date(Number(entry.id.split('-')[0])).toISOString() }));
export type AuditEntry = z.output<typeof auditEntry>;

/** The columns of an entry, in the order `stipend audit` and the export's audit file show them. */
export const AUDIT_COLUMNS = ['at', 'event', 'identity', 'display_name', 'host', 'batch_id', 'payment_id', 'details', 'id'] as const;

/**
 * A new entry's fields as XADD takes them (field, value, …): the tail of a decision script's ARGV,
 * appended with `redis.call('XADD', <audit key>, '*', unpack(ARGV, <where they start>))`.
 */
export function auditFields(event: AuditEvent, who: Actor, where: { batchId: string; paymentId?: string }, details?: string): string[] {
  return [
    'event', event,
    'identity', who.identity,
    ...(who.displayName === undefined ? [] : ['display_name', who.displayName]),
    'host', who.via === undefined ? thisHost() : `${thisHost()} via ${who.via}`,
    'batch_id', where.batchId,
    ...(where.paymentId === undefined ? [] : ['payment_id', where.paymentId]),
    ...(details === undefined ? [] : ['details', details]),
  ];
}
