import { loadConfig } from '../config/load.js';
import { openContext } from '../context.js';
import { upgradeKeyLayout } from '../upgrade/key-layout.js';

/** `stipend upgrade-keys`: an earlier version's ledger renamed into today's key layout (upgrade/key-layout.ts). */
export async function upgradeKeysCommand(options: { config?: string }): Promise<number> {
  const context = await openContext(await loadConfig({ path: options.config }));
  try {
    const done = await upgradeKeyLayout(context);
    process.stdout.write(`upgraded: ${done.batches} batches, ${done.payments} payments, ${done.holders} holders, ${done.auditEntries} audit entries, ${done.schedules} schedules\n`);
    return 0;
  } finally {
    await context.close();
  }
}
