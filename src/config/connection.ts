import { ConfigError } from '../errors.js';
import type { AnyAdapter } from '../providers/index.js';
import type { ProviderId } from '../providers/types.js';
import { fillEnv } from './env.js';
import { describeIssues } from './issues.js';
import { type AccountConfig, type AccountConnection, accountConnection } from './schema.js';

/** An account's connection as its provider's client takes it: the credentials as the adapter parsed them. */
export type Connection = Omit<AccountConnection, 'credentials'> & { credentials: Record<string, string> };

/**
 * The account's baseUrl and credentials as a function that fills in their ${VARS} and checks them
 * when called, so that only a command calling this provider account needs its variables; a missing
 * one is a ConfigError naming the account's key and the variable, never a value. What the file
 * alone decides is checked now, by every command: the provider's credential keys (a ${NAME} stands
 * for a value here, and every provider's credentials are non-empty strings).
 */
export function lazyConnection(
  account: { provider: ProviderId; name: string; adapter: AnyAdapter },
  written: Pick<AccountConfig, 'baseUrl' | 'credentials'>,
  source: string,
  env: NodeJS.ProcessEnv,
): () => Connection {
  const path = ['accounts', account.provider, account.name];
  const credentialsAt = [...path, 'credentials'];
  const keys = account.adapter.credentials.safeParse(written.credentials);
  if (!keys.success) throw new ConfigError(describeIssues(source, keys.error, credentialsAt));
  return () => {
    const filled = accountConnection.safeParse(fillEnv({ baseUrl: written.baseUrl, credentials: written.credentials }, path, env, source));
    if (!filled.success) throw new ConfigError(describeIssues(source, filled.error, path));
    const credentials = account.adapter.credentials.safeParse(filled.data.credentials);
    if (!credentials.success) throw new ConfigError(describeIssues(source, credentials.error, credentialsAt));
    return { baseUrl: filled.data.baseUrl, credentials: credentials.data };
  };
}

/**
 * Refuses at once the first account whose connection cannot be made (an unset ${VAR}): what a
 * command that will call these accounts does before it opens anything, so nothing is left open.
 */
export function demandConnections(accounts: readonly { connection: () => Connection }[]): void {
  for (const account of accounts) account.connection();
}
