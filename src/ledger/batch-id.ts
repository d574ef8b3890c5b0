import { UsageError } from '../errors.js';
import { quoted } from '../quote.js';

/**
 * What a batch id given from outside (the command line) may be: newBatchId's ids
 * (20261121-101500-a1b2c3), and any other id of letters, digits, - and _ as older ledgers and tests
 * hold them. A batch id names its report folder (<out>/<batchId>/) and its Redis keys, so `..`, a
 * slash, a NUL or a colon never gets that far.
 */
export const BATCH_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

export function checkBatchId(value: string): string {
  if (!BATCH_ID.test(value)) throw new UsageError(`${quoted(value)} is not a batch id: batch ids are letters, digits, - and _, as run prints them (e.g. 20261121-101500-a1b2c3)`);
  return value;
}
