import { loadConfig, selectAccounts } from '../config/load.js';
import { openContext } from '../context.js';
import { openAccountClients } from '../queue/account-clients.js';

const LABELS = { ok: 'OK', failed: 'FAILED', unverifiable: 'NOT VERIFIABLE' } as const;

/**
 * `stipend check`: proves each configured account's credentials with a call that moves no money
 * (through the account's shared rate limit, like any worker request). Exit 1 if any failed.
 */
export async function checkCommand(options: { provider?: string; account?: string; config?: string }): Promise<number> {
  const config = await loadConfig({ path: options.config });
  const accounts = selectAccounts(config, options.provider, options.account);
  const context = await openContext(config);
  const opened = await openAccountClients(context, accounts);
  let failures = 0;
  try {
    for (const { account, client } of opened.clients) {
      const result = await client.check();
      if (result.status === 'failed') failures += 1;
      process.stdout.write(`${account.provider}/${account.name} (${account.adapter.name}, ${account.baseUrl}): ${LABELS[result.status]}: ${result.detail}\n`);
    }
  } finally {
    await opened.close();
    await context.close();
  }
  return failures === 0 ? 0 : 1;
}
