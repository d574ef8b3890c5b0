import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

/**
 * How a shared session value is kept in Redis. It is a credential (with ClientPay's accessId anyone
 * can pay out of the account), and Redis is read by more than the workers (the dashboard, backups,
 * whoever runs redis-cli). So it is stored sealed with AES-256-GCM, under a key derived from the
 * account's credentials: every worker process of the account has them, Redis never does.
 */
export interface SessionSeal {
  seal(value: string): string;
  /** undefined for a value that does not open: sealed under other credentials, or stored plain by an earlier version. */
  open(stored: string): string | undefined;
}

const FORMAT = 'sealed1';
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** The seal for the session kept at `sessionKey`, from the account's credentials as its adapter parsed them. */
export function sessionSeal(credentials: unknown, sessionKey: string): SessionSeal {
  // The key name as salt: two accounts with the same credentials still get different keys.
  const key = Buffer.from(hkdfSync('sha256', JSON.stringify(credentials), sessionKey, 'stipend shared session', 32));
  return {
    seal(value) {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      const sealed = Buffer.concat([cipher.update(value, 'utf8'), cipher.final()]);
      return `${FORMAT}.${Buffer.concat([iv, cipher.getAuthTag(), sealed]).toString('base64url')}`;
    },
    open(stored) {
      if (!stored.startsWith(`${FORMAT}.`)) return undefined;
      const bytes = Buffer.from(stored.slice(FORMAT.length + 1), 'base64url');
      if (bytes.length < IV_BYTES + TAG_BYTES) return undefined;
      const decipher = createDecipheriv('aes-256-gcm', key, bytes.subarray(0, IV_BYTES));
      decipher.setAuthTag(bytes.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
      try {
        return Buffer.concat([decipher.update(bytes.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString('utf8');
      } catch {
        // The tag does not match: sealed under other credentials (they were changed), or altered.
        return undefined;
      }
    },
  };
}
