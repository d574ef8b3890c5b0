import type { Account } from '../config/load.js';
import type { StipendContext } from '../context.js';
import { heldInAccounts } from '../ledger/claims.js';
import type { ManifestRow } from '../manifest/index.js';
import { OtherAccountDuplicateError } from './enqueue-errors.js';

/**
 * The same payment paid through two accounts of one provider is paid twice, though each account's
 * ledger holds it once. So a manifest whose file, or one of whose payment ids, another configured
 * account of the provider already holds is refused unless the operator allows it for the run.
 */

const PAGE = 500;
const ALLOW = 'if it is meant to be paid through both accounts, run it again with --allow-other-account';

/** The provider's other configured accounts. */
export function otherAccountsOf(context: StipendContext, account: Account): string[] {
  return context.config.accounts.filter((a) => a.provider === account.provider && a.name !== account.name).map((a) => a.name);
}

/**
 * Throws OtherAccountDuplicateError, changing nothing, when another account of the provider has a
 * batch of this file (not canceled) or holds one of these rows' payments. Run before the batch is
 * created, under the file's hold; the claims themselves check the other accounts again, atomically
 * (a payment claimed elsewhere meanwhile is a duplicate row, never paid twice).
 */
export async function refuseOtherAccountDuplicates(context: StipendContext, account: Account, sha256: string, rows: AsyncIterable<ManifestRow>): Promise<void> {
  const { provider } = account;
  const others = otherAccountsOf(context, account);
  if (others.length === 0) return;
  for (const other of others) {
    const batch = await context.batches.ofFile(provider, other, sha256);
    if (batch === undefined || batch.state === 'canceled') continue;
    throw new OtherAccountDuplicateError(
      `this manifest (the same file, by SHA-256) was already submitted to ${provider} account ${other} as batch ${batch.batch_id} (${batch.source}, ${batch.created_at}); nothing was queued through ${account.name}: ${ALLOW}`,
      other, batch.batch_id,
    );
  }
  let first: { paymentId: string; account: string; batchId: string } | undefined;
  let count = 0;
  let page: string[] = [];
  const check = async () => {
    const held = await heldInAccounts(context.redis, context.keys, provider, others, page);
    for (const [i, holder] of held.entries()) {
      if (holder === undefined) continue;
      first ??= { paymentId: page[i]!, ...holder };
      count += 1;
    }
    page = [];
  };
  for await (const row of rows) {
    if (!row.ok) continue;
    page.push(row.payment.paymentId);
    if (page.length >= PAGE) await check();
  }
  await check();
  if (first === undefined) return;
  const more = count > 1 ? ` (and ${count - 1} more of its payments)` : '';
  throw new OtherAccountDuplicateError(
    `payment ${first.paymentId} is already held by ${provider} account ${first.account}, batch ${first.batchId}${more}; nothing was queued through ${account.name}: ${ALLOW}`,
    first.account, first.batchId,
  );
}
