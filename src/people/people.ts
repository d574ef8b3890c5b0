import type { RedisClient } from '../redis/connection.js';
import { z } from 'zod';
import type { Actor } from '../audit/actor.js';
import { auditFields } from '../audit/audit-entry.js';
import { UsageError } from '../errors.js';
import type { RedisKeys } from '../redis/keys.js';
import { scripted } from '../redis/scripts.js';
import { MIN_PASSWORD_LENGTH, NOBODY, hashPassword, verifyPassword } from './passwords.js';
import { role, type Role } from './roles.js';
import { Sessions } from './sessions.js';

/**
 * The people who may sign in to the console, kept in Redis (one hash each) so every dashboard
 * process knows them: a role and a scrypt hash of the password, never the password itself. Every
 * change lands in the audit trail (person_added, person_removed, password_reset) in the same step;
 * removing a person or resetting their password ends their sessions.
 */

/** A person's name: how they sign in and how the audit trail names them (`console:<name>`). */
export const personName = z
  .string()
  .regex(/^[a-z0-9][a-z0-9._-]{0,39}$/, { error: 'a person\'s name is 1-40 lower-case letters, digits, ".", "_" or "-", starting with a letter or digit' });

const storedPerson = z.object({
  name: personName,
  role,
  password_hash: z.string(),
  added_by: z.string(),
  added_ms: z.coerce.number(),
  password_set_ms: z.coerce.number(),
});

/** A person as the console and `stipend users list` see them (without the hash). */
export type Person = Omit<z.infer<typeof storedPerson>, 'password_hash'>;

/** A change to the people refused as asked (a name taken or unknown, a password too short). */
export class PeopleError extends UsageError {}

export class People {
  private readonly sessions: Sessions;

  constructor(
    private readonly redis: RedisClient,
    private readonly keys: RedisKeys,
  ) {
    this.sessions = new Sessions(redis, keys);
  }

  /** Adds a person; refuses a name already taken. */
  async add(name: string, as: Role, password: string, by: Actor): Promise<void> {
    const checked = checkName(name);
    checkPassword(password);
    const hash = await hashPassword(password);
    const added = await scripted(this.redis).addPerson(
      this.keys.person(checked), this.keys.people(), this.keys.peopleAudit(),
      checked, role.parse(as), hash, by.identity, ...auditFields('person_added', by, { batchId: '' }, `${checked} as ${as}`),
    );
    if (added === 0) throw new PeopleError(`${checked} is already a person here (reset their password or remove them first)`);
  }

  async remove(name: string, by: Actor): Promise<void> {
    const checked = checkName(name);
    const removed = await scripted(this.redis).removePerson(this.keys.person(checked), this.keys.people(), this.keys.peopleAudit(), checked, ...auditFields('person_removed', by, { batchId: '' }, checked));
    if (removed === 0) throw new PeopleError(`there is no person ${checked}`);
    await this.sessions.endAllOf(checked);
  }

  async resetPassword(name: string, password: string, by: Actor): Promise<void> {
    const checked = checkName(name);
    checkPassword(password);
    const hash = await hashPassword(password);
    const reset = await scripted(this.redis).resetPassword(this.keys.person(checked), this.keys.peopleAudit(), hash, ...auditFields('password_reset', by, { batchId: '' }, checked));
    if (reset === 0) throw new PeopleError(`there is no person ${checked}`);
    await this.sessions.endAllOf(checked);
  }

  async get(name: string): Promise<Person | undefined> {
    if (!personName.safeParse(name).success) return undefined;
    const stored = await this.stored(name);
    if (!stored) return undefined;
    const { password_hash: _hash, ...person } = stored;
    return person;
  }

  async list(): Promise<Person[]> {
    const names = (await this.redis.smembers(this.keys.people())).sort();
    const people = await Promise.all(names.map((name) => this.get(name)));
    return people.filter((person): person is Person => person !== undefined);
  }

  /**
   * The person whose name and password these are, else undefined. An unknown name costs the same
   * scrypt as a wrong password, so how long a refusal takes does not tell which names exist.
   */
  async authenticate(name: string, password: string): Promise<Person | undefined> {
    const stored = personName.safeParse(name).success ? await this.stored(name) : undefined;
    const matches = await verifyPassword(password, stored?.password_hash ?? NOBODY);
    if (!stored || !matches) return undefined;
    const { password_hash: _hash, ...person } = stored;
    return person;
  }

  private async stored(name: string): Promise<z.infer<typeof storedPerson> | undefined> {
    const parsed = storedPerson.safeParse(await this.redis.hgetall(this.keys.person(name)));
    return parsed.success ? parsed.data : undefined;
  }
}

function checkName(name: string): string {
  const parsed = personName.safeParse(name);
  if (!parsed.success) throw new PeopleError(parsed.error.issues[0]!.message);
  return parsed.data;
}

function checkPassword(password: string): void {
  if ([...password].length < MIN_PASSWORD_LENGTH) throw new PeopleError(`a password has at least ${MIN_PASSWORD_LENGTH} characters`);
  if (/\p{Cc}/u.test(password)) throw new PeopleError('a password is one line of printable characters');
}
