import type { RedisClient } from '../redis/connection.js';
import type { RedisKeys } from '../redis/keys.js';
import { scripted } from '../redis/scripts.js';

/**
 * Repeated failed sign-ins are slowed, by name and by address together (redis/lua/signInThrottle.lua):
 * FREE failures of a name are free (FREE_PER_ADDRESS from one address, which an office shares); after them each failure doubles the wait before the next attempt is even
 * heard (1 s, 2 s, 4 s, ... at most CAP_MS), so guessing a password online takes years while a
 * person who mistyped waits seconds. A count is forgotten WINDOW_MS after its last failure, and a
 * name's count when it signs in.
 */
const FREE = 5;
const FREE_PER_ADDRESS = 50;
const WINDOW_MS = 15 * 60_000;
const CAP_MS = 15 * 60_000;

export class SignInThrottle {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: RedisKeys,
  ) {}

  /** How long (ms) before an attempt for this name from this address is heard; 0: now. */
  waitMs(name: string, address: string): Promise<number> {
    return this.run('check', name, address);
  }

  /** Counts a failure; answers the wait it brings. */
  failed(name: string, address: string): Promise<number> {
    return this.run('fail', name, address);
  }

  async succeeded(name: string, address: string): Promise<void> {
    await this.run('clear', name, address);
  }

  private async run(op: 'check' | 'fail' | 'clear', name: string, address: string): Promise<number> {
    // The name as typed, bounded: an unknown one is counted too, so a refusal tells nothing.
    const who = name.toLowerCase().slice(0, 64);
    return Number(await scripted(this.redis).signInThrottle(this.keys.signInFailures('name', who), this.keys.signInFailures('address', address), op, FREE, FREE_PER_ADDRESS, WINDOW_MS, CAP_MS));
  }
}
