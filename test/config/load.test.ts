import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findAccount, loadConfig, resolveConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/errors.js';

const ctpayer = (credentials: Record<string, string>, extra = {}) => ({
  accounts: { ctpayer: { main: { baseUrl: 'https://api.example.test', credentials, ...extra } } },
});

it('fills ${ENV} references and applies defaults', () => {
  const config = resolveConfig(ctpayer({ username: 'u', password: '${CT_PASS}', apiusername: 'ops' }), 'c.json', { CT_PASS: 's3cret' });
  const account = findAccount(config, 'ctpayer');
  expect(account.connection()).toEqual({ baseUrl: 'https://api.example.test', credentials: { username: 'u', password: 's3cret', apiusername: 'ops' } });
  expect(account).toMatchObject({ concurrency: 4, retry: { attempts: 5, backoffMs: 1000 }, rateLimit: { max: 20, perMs: 1000 } });
  expect(config).toMatchObject({ redisUrl: 'redis://127.0.0.1:6379', prefix: 'stipend' });
});

it('names the key and the problem, never the value', () => {
  const attempt = (raw: unknown, env = {}) => {
    try {
      resolveConfig(raw, 'c.json', env);
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      return (error as Error).message;
    }
    throw new Error('accepted');
  };
  expect(attempt(ctpayer({ username: 'u', password: 'hunter2' }))).toMatch(/^c\.json: accounts\.ctpayer\.main\.credentials\.apiusername: /);
  expect(attempt(ctpayer({ username: 'u', password: 'hunter2', apiusername: 'a' }, { concurrency: 0 }))).toMatch(/accounts\.ctpayer\.main\.concurrency: /);
  expect(attempt(ctpayer({ username: 'u', password: 'hunter2', apiusername: 'a' }, { baseUrl: 'ftp://x' }))).toMatch(/baseUrl: must be an http\(s\) URL/);
  expect(attempt({ accounts: { paypal: {} } })).toMatch(/accounts/);
  expect(attempt({ accounts: {} })).toMatch(/at least one provider account/);
  expect(attempt(ctpayer({ username: 'u', password: 'hunter2', apiusername: 'a' }, { bogus: 1 }))).not.toContain('hunter2');
});

describe('the redis section', () => {
  const account = ctpayer({ username: 'u', password: 'p', apiusername: 'a' });
  const nodes = ['redis://10.0.0.11:6379', 'redis://10.0.0.12:6379'];

  it('takes a cluster\'s seed nodes from the file, or from REDIS_CLUSTER_NODES without one', () => {
    expect(resolveConfig({ ...account, redis: { cluster: { nodes } } }, 'c.json', {}).redisCluster).toEqual(nodes);
    expect(resolveConfig(account, 'c.json', { REDIS_CLUSTER_NODES: ` ${nodes.join(' , ')} ` }).redisCluster).toEqual(nodes);
    // A url in the file is one Redis, whatever the environment says.
    expect(resolveConfig({ ...account, redis: { url: 'redis://one:6379' } }, 'c.json', { REDIS_CLUSTER_NODES: nodes.join(',') }).redisCluster).toBeUndefined();
    expect(resolveConfig(account, 'c.json', {}).redisCluster).toBeUndefined();
  });

  it('refuses a url and a cluster together, a cluster without nodes, and a prefix with more than one hash tag', () => {
    expect(() => resolveConfig({ ...account, redis: { url: 'redis://one:6379', cluster: { nodes } } }, 'c.json')).toThrow(/redis\.cluster: give url \(one Redis\) or cluster \(its nodes\), not both/);
    expect(() => resolveConfig({ ...account, redis: { cluster: { nodes: [] } } }, 'c.json')).toThrow(/redis\.cluster\.nodes: name at least one node/);
    expect(() => resolveConfig({ ...account, redis: { cluster: { nodes: ['10.0.0.1:6379'] } } }, 'c.json')).toThrow(/must start with redis:\/\/ or rediss:\/\//);
    expect(() => resolveConfig({ ...account, redis: { prefix: '{a}{b}' } }, 'c.json')).toThrow(/at most one \{hash tag\}/);
    expect(resolveConfig({ ...account, redis: { prefix: '{stipend}' } }, 'c.json').prefix).toBe('{stipend}');
  });
});

it('uses the built-in sandbox accounts without a file, and explains a broken file', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'stipend-config-'));
  const builtIn = await loadConfig({ env: {} });
  expect(builtIn.source).toBe('built-in sandbox accounts');
  expect(builtIn.accounts.map((a) => a.provider).sort()).toEqual(['clientpay', 'ctpayer', 'ontraport', 'ptapi', 'virtualrx']);

  await writeFile(join(dir, 'bad.json'), '{ "accounts": ');
  await expect(loadConfig({ path: join(dir, 'bad.json'), env: {} })).rejects.toThrow(/is not valid JSON/);
  await expect(loadConfig({ path: join(dir, 'none.json'), env: {} })).rejects.toThrow(/cannot read config file .*ENOENT/);
});

it('asks for --account when a provider has several', () => {
  const config = resolveConfig({
    accounts: { virtualrx: { a: { baseUrl: 'http://x', credentials: { token: 't' } }, b: { baseUrl: 'http://y', credentials: { token: 't' } } } },
  }, 'c.json');
  expect(() => findAccount(config, 'virtualrx')).toThrow(/several accounts \(a, b\); choose one with --account/);
  expect(findAccount(config, 'virtualrx', 'b').connection().baseUrl).toBe('http://y');
  expect(() => findAccount(config, 'ctpayer')).toThrow(/no ctpayer account is configured/);
});

describe('the dashboard section', () => {
  const account = ctpayer({ username: 'u', password: 'p', apiusername: 'a' });

  it('fills its ${VARS} only when the dashboard asks for its sign-in', () => {
    const config = resolveConfig({ ...account, dashboard: { username: 'finance', password: '${DASHBOARD_PASSWORD}', readOnly: false } }, 'c.json', {});
    expect(config.dashboard.readOnly).toBe(false);
    expect(() => config.dashboard.signIn()).toThrow(new ConfigError('c.json: dashboard.password: environment variable DASHBOARD_PASSWORD is not set'));
    // A misspelt key is still refused at load, by every command.
    expect(() => resolveConfig({ ...account, dashboard: { pasword: 'x' } }, 'c.json', {})).toThrow(/^c\.json: dashboard: /);
  });

  it('takes DASHBOARD_USERNAME (default finance) and DASHBOARD_PASSWORD where the file names none', async () => {
    const password = 'twelve chars or more';
    expect(resolveConfig(account, 'c.json', { DASHBOARD_PASSWORD: password }).dashboard.signIn()).toEqual({ username: 'finance', password });
    expect(resolveConfig({ ...account, dashboard: { readOnly: true } }, 'c.json', { DASHBOARD_USERNAME: 'ops', DASHBOARD_PASSWORD: password }).dashboard.signIn()).toEqual({
      username: 'ops',
      password,
    });
    expect((await loadConfig({ env: { DASHBOARD_PASSWORD: password } })).dashboard.signIn()).toEqual({ username: 'finance', password });
    // The file's own sign-in comes first.
    const fromFile = resolveConfig({ ...account, dashboard: { username: 'boss', password: 'the file has this one' } }, 'c.json', { DASHBOARD_PASSWORD: password });
    expect(fromFile.dashboard.signIn()).toEqual({ username: 'boss', password: 'the file has this one' });
    expect(resolveConfig(account, 'c.json', {}).dashboard.signIn()).toBeUndefined();
  });

  it('holds a password from either place to the same rules, naming where it came from, never its value', () => {
    const signIn = (raw: unknown, env: NodeJS.ProcessEnv) => () => resolveConfig(raw, 'c.json', env).dashboard.signIn();
    expect(signIn(account, { DASHBOARD_PASSWORD: 'hunter2' })).toThrow(new ConfigError('environment variable DASHBOARD_PASSWORD: must be at least 12 characters'));
    expect(signIn({ ...account, dashboard: { password: 'hunter2' } }, {})).toThrow(new ConfigError('c.json: dashboard.password: must be at least 12 characters'));
    expect(signIn(account, { DASHBOARD_USERNAME: '', DASHBOARD_PASSWORD: 'twelve chars or more' })).toThrow(
      new ConfigError('environment variable DASHBOARD_USERNAME: must not be empty'),
    );
  });
});
