import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RedisClient } from '../../src/redis/connection.js';
import { hashPassword, NOBODY, verifyPassword } from '../../src/people/passwords.js';
import { People } from '../../src/people/people.js';
import { ABSOLUTE_MS, IDLE_MS, Sessions } from '../../src/people/sessions.js';
import { SignInThrottle } from '../../src/people/sign-in-throttle.js';
import type { RedisKeys } from '../../src/redis/keys.js';
import { testRedis } from '../helpers/redis.js';

/** The console's people, sessions and sign-in throttle against the real Redis (people/). */

let redis: RedisClient;
let keys: RedisKeys;
let cleanup: () => Promise<void>;
const ADMIN = { identity: 'root@ops-1' };
const PASSWORD = 'correct horse battery';

beforeAll(() => {
  ({ redis, keys, cleanup } = testRedis());
});
afterAll(() => cleanup());

const redisNowMs = async () => {
  const [seconds, micros] = await redis.time();
  return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
};

describe('passwords', () => {
  it('are kept as salted scrypt hashes with their parameters, and verified', async () => {
    const hash = await hashPassword(PASSWORD);
    expect(hash).toMatch(/^scrypt\$32768\$8\$1\$[A-Za-z0-9+/]{22}==\$[A-Za-z0-9+/]{43}=$/);
    expect(hash).not.toContain(PASSWORD);
    expect(await hashPassword(PASSWORD)).not.toBe(hash);
    expect(await verifyPassword(PASSWORD, hash)).toBe(true);
    expect(await verifyPassword(`${PASSWORD} `, hash)).toBe(false);
    expect(await verifyPassword(PASSWORD, 'md5$abc')).toBe(false);
    expect(await verifyPassword(PASSWORD, NOBODY)).toBe(false);
  });
});

describe('people', () => {
  const people = () => new People(redis, keys);

  it('authenticates the right password only, and never hands out the hash', async () => {
    await people().add('pat', 'approver', PASSWORD, ADMIN);
    const person = await people().authenticate('pat', PASSWORD);
    expect(person).toMatchObject({ name: 'pat', role: 'approver', added_by: 'root@ops-1' });
    expect(person).not.toHaveProperty('password_hash');
    expect(await people().get('pat')).not.toHaveProperty('password_hash');
    expect(await people().authenticate('pat', 'the wrong password')).toBeUndefined();
    expect((await redis.hget(keys.person('pat'), 'password_hash'))!).toMatch(/^scrypt\$/);
  });

  it('refuses an unknown or malformed name after the same scrypt as a wrong password', async () => {
    // Not a timing benchmark: each refusal must have run a whole scrypt, which a skipped one would not.
    // (A skipped one costs a Redis round trip, well under a millisecond; the machine may be busy, hence the margin.)
    const timed = async (work: () => Promise<unknown>) => {
      const at = performance.now();
      await work();
      return performance.now() - at;
    };
    let oneScrypt = Infinity;
    for (let i = 0; i < 3; i += 1) oneScrypt = Math.min(oneScrypt, await timed(() => verifyPassword(PASSWORD, NOBODY)));
    for (const name of ['pat', 'nobody', 'Not A Name']) {
      expect(await people().authenticate(name, 'the wrong password')).toBeUndefined();
      expect(await timed(() => people().authenticate(name, 'the wrong password')), name).toBeGreaterThan(oneScrypt / 4);
    }
  });

  it('refuses a short password, a taken or bad name, and a reset or removal of no one', async () => {
    await expect(people().add('quinn', 'viewer', 'short', ADMIN)).rejects.toThrow('a password has at least 12 characters');
    await expect(people().add('quinn', 'viewer', 'twelve chars\nmore', ADMIN)).rejects.toThrow('one line');
    await expect(people().add('pat', 'viewer', PASSWORD, ADMIN)).rejects.toThrow('pat is already a person here');
    await expect(people().add('../pat', 'viewer', PASSWORD, ADMIN)).rejects.toThrow('lower-case letters');
    await expect(people().resetPassword('quinn', PASSWORD, ADMIN)).rejects.toThrow('there is no person quinn');
    await expect(people().remove('quinn', ADMIN)).rejects.toThrow('there is no person quinn');
    expect(await redis.exists(keys.person('quinn'))).toBe(0);
    expect(await redis.smembers(keys.people())).toEqual(['pat']);
  });

  it('ends every session of a person whose password is reset or who is removed', async () => {
    const sessions = new Sessions(redis, keys);
    const [a, b] = [await sessions.start('pat', '198.51.100.1'), await sessions.start('pat', '198.51.100.2')];
    await people().resetPassword('pat', 'a new long password', ADMIN);
    expect(await sessions.use(a.id)).toBeUndefined();
    expect(await sessions.use(b.id)).toBeUndefined();
    expect(await people().authenticate('pat', PASSWORD)).toBeUndefined();
    expect(await people().authenticate('pat', 'a new long password')).toBeDefined();
    const c = await sessions.start('pat', '198.51.100.3');
    await people().remove('pat', ADMIN);
    expect(await sessions.use(c.id)).toBeUndefined();
    expect(await people().get('pat')).toBeUndefined();
    expect(await redis.exists(keys.personSessions('pat'))).toBe(0);
  });
});

describe('sessions', () => {
  const sessions = () => new Sessions(redis, keys);

  it('expire after IDLE_MS unused, by Redis, each use starting the idle time again', async () => {
    const session = await sessions().start('sid', '203.0.113.9');
    expect(session.id).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const ttl = await redis.pttl(keys.consoleSession(session.id));
    expect(ttl).toBeGreaterThan(IDLE_MS - 5_000);
    expect(ttl).toBeLessThanOrEqual(IDLE_MS);
    // The person's list of sessions lasts as long as their newest session may, no longer.
    expect(await redis.pttl(keys.personSessions('sid'))).toBeGreaterThan(ABSOLUTE_MS - 5_000);
    await redis.pexpire(keys.consoleSession(session.id), 1_000);
    expect(await sessions().use(session.id)).toMatchObject({ name: 'sid', address: '203.0.113.9', csrf: session.csrf });
    expect(await redis.pttl(keys.consoleSession(session.id))).toBeGreaterThan(IDLE_MS - 5_000);
    await redis.del(keys.consoleSession(session.id)); // as Redis does when the idle time runs out
    expect(await sessions().use(session.id)).toBeUndefined();
    expect(await sessions().use('not a session id')).toBeUndefined();
  });

  it('end at ABSOLUTE_MS after sign-in however busy, by Redis\'s clock', async () => {
    const near = await sessions().start('sid', '203.0.113.9');
    await redis.hset(keys.consoleSession(near.id), 'created_ms', (await redisNowMs()) - ABSOLUTE_MS + 60_000);
    expect(await sessions().use(near.id)).toBeDefined();
    // Never kept past its absolute end, however recently used.
    expect(await redis.pttl(keys.consoleSession(near.id))).toBeLessThanOrEqual(60_000);

    const old = await sessions().start('sid', '203.0.113.9');
    await redis.hset(keys.consoleSession(old.id), 'created_ms', (await redisNowMs()) - ABSOLUTE_MS - 1);
    expect(await sessions().use(old.id)).toBeUndefined();
    expect(await redis.exists(keys.consoleSession(old.id))).toBe(0);
  });

  it('signing out everywhere ends them all', async () => {
    const ids = [(await sessions().start('eve', 'a')).id, (await sessions().start('eve', 'b')).id];
    expect(await sessions().endAllOf('eve')).toBe(2);
    for (const id of ids) expect(await sessions().use(id)).toBeUndefined();
  });
});

describe('the sign-in throttle', () => {
  it('lets five failures of a name pass, then doubles the wait with each, by Redis\'s clock', async () => {
    const throttle = new SignInThrottle(redis, keys);
    for (let i = 0; i < 4; i += 1) expect(await throttle.failed('tom', '192.0.2.1')).toBe(0);
    expect(await throttle.waitMs('tom', '192.0.2.1')).toBe(0);
    const fifth = await throttle.failed('tom', '192.0.2.1');
    expect(fifth).toBeGreaterThan(900);
    expect(fifth).toBeLessThanOrEqual(1_000);
    const sixth = await throttle.failed('tom', '192.0.2.2');
    expect(sixth).toBeGreaterThan(1_900);
    expect(sixth).toBeLessThanOrEqual(2_000);
    // From another address too: the count is the name's.
    expect(await throttle.waitMs('Tom', '192.0.2.3')).toBeGreaterThan(1_000);
    // The failures are stamped with Redis's time, not this machine's.
    const last = Number(await redis.hget(keys.signInFailures('name', 'tom'), 'last_ms'));
    expect(Math.abs(last - (await redisNowMs()))).toBeLessThan(5_000);
    await redis.hset(keys.signInFailures('name', 'tom'), 'last_ms', last - 2_000);
    expect(await throttle.waitMs('tom', '192.0.2.3')).toBe(0);
    await throttle.succeeded('tom', '192.0.2.3');
    expect(await redis.exists(keys.signInFailures('name', 'tom'))).toBe(0);
  });
});
