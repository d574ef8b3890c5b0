import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RedisClient } from './connection.js';

/**
 * Every Lua script the program runs in Redis, one file each in lua/ (shared pieces in
 * lua/includes/), read and expanded once at startup and registered on each connection as a command
 * of its own (EVALSHA, falling back to EVAL after a Redis restart forgot it). A script is atomic:
 * that is what each of them is for (the ledger's transitions, the rate limit's admissions, locks).
 *
 * A line `--- @include "includes/name"` stands for lua/includes/name.lua (a path relative to the
 * including file), included once per script however many includes ask for it.
 */

/** lua/ beside this module: src/redis/lua when run from source, dist/src/redis/lua built (the build copies it). */
const LUA_DIR = join(dirname(fileURLToPath(import.meta.url)), 'lua');

/** The key count (KEYS) each call passes first, for scripts taking as many keys as the call needs. */
const KEYS_PER_CALL = 'per call';

/** Each script, by its file's name in lua/, and how many of a call's arguments are KEYS. */
const SCRIPTS = {
  // The payment ledger (ledger/payments.ts).
  readStanding: 1,
  beginSending: 3,
  beginFreshSending: 3,
  unmarkSending: 1,
  touchSending: 1,
  keepKey: 1,
  requeuePayment: 1,
  finalizePayment: 3,
  resolvePayment: 4,
  retryPayment: KEYS_PER_CALL,
  // Payment identities (ledger/claims.ts).
  claimPayments: KEYS_PER_CALL,
  heldInAccounts: KEYS_PER_CALL,
  settleUnrecordedClaim: 5,
  reserveIdentities: KEYS_PER_CALL,
  // Archiving a settled batch (archive/archive-batch.ts).
  beginArchive: 2,
  compactHolders: KEYS_PER_CALL,
  compactIdentities: KEYS_PER_CALL,
  forgetExpiredHolders: 1,
  // The batch record (ledger/batches.ts).
  recordChunk: 3,
  finishEnqueue: 2,
  abandonEnqueue: 3,
  decideApproval: 2,
  // Reversals (ledger/reversals.ts).
  claimReversal: 3,
  settleReversal: 2,
  interruptReversal: 2,
  resolveReversal: 3,
  // The account's rate limit (limits/account-gate.ts).
  admitRequest: 4,
  answeredRequests: 2,
  // The console's people, sessions and sign-in throttle (people/).
  touchSession: 1,
  signInThrottle: 2,
  addPerson: 3,
  removePerson: 3,
  resetPassword: 2,
  // Locks (redis/lock.ts).
  renewLock: 1,
  releaseLock: 1,
} as const satisfies Record<string, number | typeof KEYS_PER_CALL>;

export type ScriptName = keyof typeof SCRIPTS;

/** A connection with every script as a command: `redis.finalizePayment(...keys, ...args)`. */
export type ScriptedRedis = RedisClient & Record<ScriptName, (...args: (string | number)[]) => Promise<unknown>>;

const INCLUDE = /^---[ \t]*@include[ \t]+"([^"]+)"[ \t]*$/gm;

/** The script's text with its includes in place, each once (`included`: the files already in). */
function expand(path: string, included: Set<string>): string {
  return readFileSync(path, 'utf8').replace(INCLUDE, (_, name: string) => {
    const file = join(dirname(path), `${name}.lua`);
    if (included.has(file)) return '';
    included.add(file);
    return expand(file, included).trimEnd();
  });
}

/** The scripts' expanded text by name, read once when the program starts. */
export const SCRIPT_TEXT: Readonly<Record<ScriptName, string>> = Object.fromEntries(
  Object.keys(SCRIPTS).map((name) => [name, expand(join(LUA_DIR, `${name}.lua`), new Set())]),
) as Record<ScriptName, string>;

/** The connection, with every script defined on it (once per connection). */
export function scripted(redis: RedisClient): ScriptedRedis {
  const r = redis as ScriptedRedis;
  if (typeof r.readStanding !== 'function') {
    for (const [name, keys] of Object.entries(SCRIPTS)) {
      redis.defineCommand(name, keys === KEYS_PER_CALL ? { lua: SCRIPT_TEXT[name as ScriptName] } : { lua: SCRIPT_TEXT[name as ScriptName], numberOfKeys: keys });
    }
  }
  return r;
}
