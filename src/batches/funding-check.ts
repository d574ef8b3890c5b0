import type { Account } from '../config/load.js';
import type { StipendContext } from '../context.js';
import { ConfigError } from '../errors.js';
import { formatDollars } from '../money.js';
import { CredentialsRefusedError, readFundingBalanceCents } from '../sending/funding-balance.js';

/** What the funding check found: the balance where the provider tells it, and why the batch is refused, if it is. */
export interface FundingCheck {
  balanceCents?: number;
  refusal?: string;
}

/**
 * Where the provider can tell its funding balance (its adapter's `balance`), a batch that needs more
 * than it holds is refused before anything is queued. A balance that cannot be read (after the
 * retries every read gets) refuses too: nothing has moved yet, and the batch can simply be
 * submitted again. Refused credentials are thrown instead (CredentialsRefusedError), and so is
 * an unset ${VAR} of the account's (ConfigError): the configuration is wrong, not the manifest.
 * `read`: how the balance is read (`run --dry-run` reads it leaving nothing in Redis).
 */
export async function checkFunding(
  context: StipendContext,
  account: Account,
  totalCents: number,
  read: typeof readFundingBalanceCents = readFundingBalanceCents,
): Promise<FundingCheck> {
  const { balance } = account.adapter;
  if (!balance) return {};
  let balanceCents: number;
  try {
    balanceCents = await read(context, account, balance);
  } catch (error) {
    if (error instanceof CredentialsRefusedError || error instanceof ConfigError) throw error;
    return { refusal: error instanceof Error ? error.message : String(error) };
  }
  if (totalCents <= balanceCents) return { balanceCents };
  return { balanceCents, refusal: `the batch totals $${formatDollars(totalCents)} but the ${account.adapter.name} funding account (${account.name}) holds $${formatDollars(balanceCents)}` };
}

