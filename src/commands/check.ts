import { demandConnections } from '../config/connection.js';
import { type Account, loadConfig, type ResolvedConfig } from '../config/load.js';
import { openContext } from '../context.js';
import { ConfigError } from '../errors.js';
import { getAdapter } from '../providers/index.js';
import { redactUrl } from '../redact-url.js';
import { openAccountClients } from '../sending/account-clients.js';

const LABELS = { ok: 'OK', failed: 'FAILED', unverifiable: 'NOT VERIFIABLE' } as const;

/**
 * `stipend check`: proves each configured account's credentials with a call that moves no money
 * (through the account's shared rate limit, like any worker request). Exit 1 if any failed. Each
 * line names the account's baseUrl without its password (a baseUrl may carry one).
 */
export async function checkCommand(options: { provider?: string; account?: string; config?: string }): Promise<number> {
  const config = await loadConfig({ path: options.config });
  const accounts = accountsToCheck(config, options.provider, options.account);
  demandConnections(accounts);
  const context = await openContext(config);
  const opened = await openAccountClients(context, accounts);
  let failures = 0;
  try {
    for (const { account, provider } of opened.clients) {
      const result = await provider.check();
      if (result.status === 'failed') failures += 1;
      process.stdout.write(`${account.provider}/${account.name} (${account.adapter.name}, ${redactUrl(account.connection().baseUrl)}): ${LABELS[result.status]}: ${result.detail}\n`);
    }
  } finally {
    await opened.close();
    await context.close();
  }
  return failures === 0 ? 0 : 1;
}

/**
 * The accounts asked for. A mistyped provider names the providers that exist, and one with no
 * matching account names the accounts configured, so a new user sees what to type instead.
 */
function accountsToCheck(config: ResolvedConfig, provider?: string, name?: string): Account[] {
  if (provider !== undefined) getAdapter(provider);
  const accounts = config.accounts.filter((a) => (provider === undefined || a.provider === provider) && (name === undefined || a.name === name));
  if (accounts.length > 0) return accounts;
  const configured = config.accounts.map((a) => `${a.provider}/${a.name}`).join(', ') || 'none';
  const wanted = name === undefined ? `no ${provider} account is configured` : `no ${provider === undefined ? '' : `${provider} `}account named "${name}"`;
  throw new ConfigError(`${wanted}; configured: ${configured} (${config.source})`);
}
