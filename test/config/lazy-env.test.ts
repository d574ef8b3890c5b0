import { Writable } from 'node:stream';
import { expect, it } from 'vitest';
import { demandConnections } from '../../src/config/connection.js';
import { findAccount, resolveConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/errors.js';
import { createLogger } from '../../src/log.js';

/** Each account's baseUrl and credentials are filled in from ${ENV} when the account is used, not at load. */

const SECRET = 'other-account-secret';
const raw = {
  dashboard: { password: '${DASHBOARD_PASSWORD}' },
  accounts: {
    ctpayer: {
      main: { baseUrl: 'https://ct.example.test', credentials: { username: 'u', password: '${CT_MAIN_PASSWORD}', apiusername: 'ops' }, approval: 'always' },
      other: { baseUrl: 'https://ct.example.test', credentials: { username: 'u', password: '${CT_OTHER_PASSWORD}', apiusername: 'ops' } },
    },
    ptapi: { main: { baseUrl: '${PTAPI_URL}/v1', credentials: { username: 'u', password: 'p' } } },
  },
};

it('loads without any account\'s variables, and keeps the settings that are no secret', () => {
  const config = resolveConfig(raw, 'c.json', {});
  expect(config.accounts.map((a) => `${a.provider}/${a.name}`)).toEqual(['ctpayer/main', 'ctpayer/other', 'ptapi/main']);
  expect(findAccount(config, 'ctpayer', 'main')).toMatchObject({ approval: 'always', concurrency: 4, rateLimit: { max: 20, perMs: 1000 } });
  expect(findAccount(config, 'ptapi').rateLimit).toEqual({ max: 20, perMs: 1000, marginMs: 250 });
});

it('demands an account\'s variables when it is used, in one line naming the key and the variable', () => {
  const config = resolveConfig(raw, 'c.json', { CT_OTHER_PASSWORD: SECRET });
  const main = findAccount(config, 'ctpayer', 'main');
  expect(() => main.connection()).toThrow(new ConfigError('c.json: accounts.ctpayer.main.credentials.password: environment variable CT_MAIN_PASSWORD is not set'));
  expect(() => demandConnections(config.accounts)).toThrow(/CT_MAIN_PASSWORD/);
  // Another account's are not needed.
  expect(findAccount(config, 'ctpayer', 'other').connection()).toEqual({ baseUrl: 'https://ct.example.test', credentials: { username: 'u', password: SECRET, apiusername: 'ops' } });
  // An environment that changes is read at each use.
  const env: NodeJS.ProcessEnv = {};
  const later = findAccount(resolveConfig(raw, 'c.json', env), 'ctpayer', 'main');
  env.CT_MAIN_PASSWORD = 'set since';
  expect(later.connection().credentials).toMatchObject({ password: 'set since' });
});

it('checks a baseUrl naming a variable once it is filled in, one naming none at load', () => {
  const ptapi = (env: NodeJS.ProcessEnv) => () => findAccount(resolveConfig(raw, 'c.json', env), 'ptapi').connection();
  expect(ptapi({})).toThrow(new ConfigError('c.json: accounts.ptapi.main.baseUrl: environment variable PTAPI_URL is not set'));
  expect(ptapi({ PTAPI_URL: 'ftp://pt.example.test' })).toThrow(new ConfigError('c.json: accounts.ptapi.main.baseUrl: must be an http(s) URL'));
  expect(ptapi({ PTAPI_URL: 'https://pt.example.test' })().baseUrl).toBe('https://pt.example.test/v1');
  const literal = { accounts: { ptapi: { main: { baseUrl: 'ftp://pt.example.test', credentials: { username: '${U}', password: '${P}' } } } } };
  expect(() => resolveConfig(literal, 'c.json', {})).toThrow(new ConfigError('c.json: accounts.ptapi.main.baseUrl: must be an http(s) URL'));
});

it('refuses at load what the file alone decides: a missing credential key, a value that is not text', () => {
  const ptapi = (credentials: unknown, env: NodeJS.ProcessEnv = {}) =>
    resolveConfig({ accounts: { ptapi: { main: { baseUrl: 'https://pt.example.test', credentials } } } }, 'c.json', env);
  expect(() => ptapi({ username: '${PT_USER}' })).toThrow(/^c\.json: accounts\.ptapi\.main\.credentials\.password: /);
  expect(() => ptapi({ username: '${PT_USER}', password: 7 })).toThrow(/^c\.json: accounts\.ptapi\.main\.credentials\.password: /);
  // A variable set but empty breaks the provider's rule for its value: refused at use, naming the key.
  const empty = findAccount(ptapi({ username: '${PT_USER}', password: 'p' }, { PT_USER: '' }), 'ptapi');
  expect(() => empty.connection()).toThrow(/^c\.json: accounts\.ptapi\.main\.credentials\.username: /);
});

it('keeps credentials out of an account object and its logs: they exist only once asked for', () => {
  const config = resolveConfig(raw, 'c.json', { CT_OTHER_PASSWORD: SECRET });
  const other = findAccount(config, 'ctpayer', 'other');
  expect(JSON.stringify(other)).not.toContain(SECRET);
  let logged = '';
  const log = createLogger({ destination: new Writable({ write: (chunk, _, done) => done(void (logged += String(chunk))) }) });
  log.info({ account: other, connection: other.connection() }, 'an account');
  expect(logged).toContain('"connection":{"baseUrl":"https://ct.example.test","credentials":"[redacted]"}');
  expect(logged).not.toContain(SECRET);
});
