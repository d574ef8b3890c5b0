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
