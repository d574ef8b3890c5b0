import { randomBytes } from 'node:crypto';
import type { RedisClient } from '../redis/connection.js';
import { z } from 'zod';
import type { RedisKeys } from '../redis/keys.js';
import { scripted } from '../redis/scripts.js';

/**
 * Console sessions, kept in Redis so any dashboard process serves them and ending one ends it
 * everywhere. The browser holds only the session's id (256 random bits) in a signed cookie
 * (console/session-cookie.ts); the session holds who signed in, from where, and the CSRF token
 * every form must send back. A session lives IDLE_MS after its last use and never past
 * ABSOLUTE_MS after sign-in, by Redis's clock.
 */
export const IDLE_MS = 30 * 60_000;
export const ABSOLUTE_MS = 12 * 60 * 60_000;

const session = z.object({
  id: z.string(),
  name: z.string(),
  csrf: z.string(),
  address: z.string(),
  created_ms: z.coerce.number(),
});
export type Session = z.infer<typeof session>;

export class Sessions {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: RedisKeys,
  ) {}

  /** A new session for `name`, signed in from `address`. */
  async start(name: string, address: string): Promise<Session> {
    const id = randomBytes(32).toString('base64url');
    const csrf = randomBytes(32).toString('base64url');
    const [seconds, micros] = await this.redis.time();
    const fields: Session = { id, name, csrf, address, created_ms: Number(seconds) * 1000 + Math.floor(Number(micros) / 1000) };
    await this.redis.multi()
      .hset(this.keys.consoleSession(id), fields)
      .pexpire(this.keys.consoleSession(id), IDLE_MS)
      .sadd(this.keys.personSessions(name), id)
      // No session in the set outlives the newest by more than ABSOLUTE_MS: the ids of sessions that
      // lapsed unused (never signed out) go with the set then, instead of piling up in it.
      .pexpire(this.keys.personSessions(name), ABSOLUTE_MS)
      .exec();
    return fields;
  }

  /** The live session with this id (its idle time starting again), else undefined. */
  async use(id: string): Promise<Session | undefined> {
    if (!/^[A-Za-z0-9_-]{43}$/.test(id)) return undefined;
    const flat = (await scripted(this.redis).touchSession(this.keys.consoleSession(id), IDLE_MS, ABSOLUTE_MS)) as string[] | null;
    if (!flat) return undefined;
    const fields: Record<string, string> = {};
    for (let i = 0; i + 1 < flat.length; i += 2) fields[flat[i]!] = flat[i + 1]!;
    const parsed = session.safeParse(fields);
    return parsed.success ? parsed.data : undefined;
  }

  async end(id: string, name: string): Promise<void> {
    await this.redis.multi().del(this.keys.consoleSession(id)).srem(this.keys.personSessions(name), id).exec();
  }

  /** Ends every session of `name` (signing out everywhere; a person removed or their password reset). */
  async endAllOf(name: string): Promise<number> {
    const ids = await this.redis.smembers(this.keys.personSessions(name));
    const pipeline = this.redis.multi();
    for (const id of ids) pipeline.del(this.keys.consoleSession(id));
    pipeline.del(this.keys.personSessions(name));
    const answers = await pipeline.exec();
    return (answers ?? []).slice(0, ids.length).filter(([, deleted]) => deleted === 1).length;
  }

  /**
   * The secret that signs session cookies: made by the first console to start and shared through
   * Redis, so every dashboard process accepts the others' cookies. Whoever can read Redis can read
   * the sessions themselves, so keeping it there exposes nothing more.
   */
  async cookieSecret(): Promise<string> {
    await this.redis.set(this.keys.consoleSecret(), randomBytes(32).toString('base64url'), 'NX');
    return (await this.redis.get(this.keys.consoleSecret()))!;
  }
}
