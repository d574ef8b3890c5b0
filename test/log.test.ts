import { expect, it } from 'vitest';
import { createLogger } from '../src/log.js';

it('masks credential fields wherever they appear in a log line', () => {
  const lines: string[] = [];
  const log = createLogger({ destination: { write: (line: string) => lines.push(line) } });
  log.info({ account: { name: 'main', credentials: { password: 'hunter2' } }, token: 'abc123', headers: { authorization: 'Bearer xyz' } }, 'oops');
  log.info({ client: { password: 'pw1', accessId: 'acc-9' } }, 'nested');
  const text = lines.join('');
  for (const secret of ['hunter2', 'abc123', 'Bearer xyz', 'pw1', 'acc-9']) expect(text).not.toContain(secret);
  expect(JSON.parse(lines[0]!)).toMatchObject({ account: { name: 'main', credentials: '[redacted]' }, token: '[redacted]' });
});

it('masks every provider\'s credential keys and what providers hand out, in any case and at any depth, and logs URLs redacted', () => {
  const lines: string[] = [];
  const log = createLogger({ destination: { write: (line: string) => lines.push(line) } });
  const secrets = {
    password: 'ct-pw', appid: 'op-app', key: 'op-key', integratorKey: 'cp-int', accountKey: 'cp-acct', accountPin: '9753',
    token: 'vrx-token', accessId: 'cp-access', PIN: '8642', 'X-Api-Key': 'hdr-key', access_token: 'oauth-at', clientSecret: 'cs',
  };
  log.info({ request: { headers: { ...secrets } }, deep: { a: { b: { c: { d: secrets } } } }, list: [secrets] }, 'nested');
  log.warn({ redis: 'redis://:p@ss:w0rd@127.0.0.1:6379/0', baseUrl: 'https://user:url-pw@api.example.com/v2?token=url-token' }, 'urls');
  const text = lines.join('');
  for (const secret of [...Object.values(secrets), 'p@ss', 'w0rd', 'url-pw', 'url-token']) expect(text).not.toContain(secret);
  const [nested, urls] = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
  expect(nested).toMatchObject({ request: { headers: Object.fromEntries(Object.keys(secrets).map((k) => [k, '[redacted]'])) } });
  expect(urls).toMatchObject({ redis: 'redis://***@127.0.0.1:6379/0', baseUrl: 'https://***@api.example.com/v2?token=***' });
});

it('leaves ordinary fields as they are', () => {
  const lines: string[] = [];
  const log = createLogger({ destination: { write: (line: string) => lines.push(line) } });
  const fields = { batchId: 'b-1', paymentId: 'p-1', status: 'sending', attempt: 2, idempotencyKey: 'k-1', signIn: 'basic', queues: ['pay.ctpayer.main'], url: 'http://127.0.0.1:4100' };
  log.info(fields, 'ordinary');
  expect(JSON.parse(lines[0]!)).toMatchObject(fields);
});

it('logs an error, under any field, with URLs in its message and stack redacted and a failed Redis command\'s arguments left out', () => {
  const lines: string[] = [];
  const log = createLogger({ destination: { write: (line: string) => lines.push(line) } });
  // What ioredis throws when AUTH fails: the command and its arguments ride on the error.
  const refused = Object.assign(new Error('WRONGPASS invalid username-password pair'), { command: { name: 'auth', args: ['default', 'redis-pw'] } });
  log.error({ err: refused }, 'auth failed');
  log.error({ cause: new Error('cannot reach redis://:p@ss@10.0.0.1:6379') });
  log.error(new Error('lone https://user:pw-lone@api.example.com'));
  log.info('sending to %s', 'https://user:pw-arg@api.example.com/v2?token=tok-arg');
  log.info({ at: new URL('https://user:pw-url@api.example.com/?apikey=k-url') }, 'a URL object');
  const text = lines.join('');
  for (const secret of ['redis-pw', 'p@ss', 'pw-lone', 'pw-arg', 'tok-arg', 'pw-url', 'k-url']) expect(text).not.toContain(secret);
  expect(JSON.parse(lines[0]!)).toMatchObject({ err: { type: 'Error', message: 'WRONGPASS invalid username-password pair', command: { name: 'auth' } } });
  expect(JSON.parse(lines[1]!)).toMatchObject({ cause: { message: 'cannot reach redis://***@10.0.0.1:6379' } });
  expect(JSON.parse(lines[2]!)).toMatchObject({ msg: 'lone https://***@api.example.com' });
});
