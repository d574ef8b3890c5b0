import type { Account } from '../config/load.js';
import { UsageError } from '../errors.js';

/** Card lifecycle calls (assigncard, setcardstatus) are CT Payer's; no other provider documents them. */
export function requireCtPayer(account: Account): void {
  if (account.provider !== 'ctpayer') throw new UsageError(`card commands are for CT Payer accounts; ${account.adapter.name} documents no card assignment or cancellation`);
}
