import { afterAll, expect, it } from 'vitest';
import { sessionSeal } from '../../src/sending/session-seal.js';
import { redisSession } from '../../src/sending/shared-session.js';
import { testRedis } from '../helpers/redis.js';

/** An account's shared session (ClientPay's accessId) is a credential: Redis holds it sealed with the account's credentials. */

const redis = testRedis();
afterAll(() => redis.cleanup());

const CREDENTIALS = { integratorKey: 'int-1', accountKey: 'acct-1', accountPin: '2468' };
const session = (key: string, credentials: unknown = CREDENTIALS) => redisSession(redis.redis, key, sessionSeal(credentials, key));

it('keeps the value sealed in Redis, and every process with the account\'s credentials reads it', async () => {
  const key = `${redis.prefix}:session:shared`;
  expect(await session(key).renew(undefined, async () => 'access-id-0123456789abcdef')).toBe('access-id-0123456789abcdef');
  const stored = (await redis.redis.get(key))!;
  expect(stored).not.toContain('access-id');
  expect(stored).not.toContain(Buffer.from('access-id').toString('base64'));
  expect(await session(key).get()).toBe('access-id-0123456789abcdef');
});

it('takes a value stored plain by an earlier version, or sealed under other credentials, as no session, and renews it', async () => {
  const plain = `${redis.prefix}:session:plain`;
  await redis.redis.set(plain, 'access-id-plain');
  expect(await session(plain).get()).toBeUndefined();
  expect(await session(plain).renew(undefined, async () => 'access-id-new')).toBe('access-id-new');

  const changed = `${redis.prefix}:session:changed`;
  await session(changed, { ...CREDENTIALS, accountPin: '1357' }).renew(undefined, async () => 'access-id-old');
  expect(await session(changed).get()).toBeUndefined();
  expect(await session(changed).renew(undefined, async () => 'access-id-renewed')).toBe('access-id-renewed');
  expect(await session(changed).get()).toBe('access-id-renewed');
});

it('seals the same value differently each time, and a key for one session does not open another\'s', () => {
  const seal = sessionSeal(CREDENTIALS, 'a');
  expect(seal.seal('v')).not.toBe(seal.seal('v'));
  expect(sessionSeal(CREDENTIALS, 'b').open(seal.seal('v'))).toBeUndefined();
  expect(seal.open('sealed1.short')).toBeUndefined();
});
