import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { StipendContext } from '../context.js';

/**
 * A clean validation of an uploaded manifest, kept in Redis until its uploader submits it: which
 * stored file, its SHA-256, the account and who validated it. Only these facts: the file's rows
 * never go to Redis (a card id or a participant's payment id is the ledger's to record, once paid).
 */

/** How long a clean validation may wait for its "Submit batch". */
export const UPLOAD_TTL_MS = 60 * 60_000;

const upload = z.object({
  /** The stored file, under the uploads folder and a random name. */
  file: z.string().min(1),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  /** `provider/name`. */
  account: z.string().min(1),
  /** The person who uploaded it, the only one who may submit it. */
  name: z.string().min(1),
  /** The file's name on the uploader's computer, which the batch records as its source. */
  original: z.string().min(1),
});
export type Upload = z.infer<typeof upload>;

/** What taking an upload to submit it found. */
export type Taken =
  | { kind: 'taken'; upload: Upload }
  /** Expired, already submitted (a double click), or never made. */
  | { kind: 'gone' }
  | { kind: 'not-yours'; owner: string };

export class Uploads {
  constructor(private readonly context: StipendContext) {}

  /** Records a clean validation; returns its token, 256 random bits, for the "Submit batch" form. */
  async record(fields: Upload): Promise<string> {
    const token = randomBytes(32).toString('base64url');
    const key = this.context.keys.consoleUpload(token);
    await this.context.redis.multi().hset(key, upload.parse(fields)).pexpire(key, UPLOAD_TTL_MS).exec();
    return token;
  }

  /**
   * The upload behind `token`, for `name` only, removed so that no second submission can take it:
   * of two submissions at once (a double click), only the one whose DEL removed the record goes on.
   * A record is never changed once written, so the fields read before the DEL are the ones removed.
   */
  async take(token: string, name: string): Promise<Taken> {
    if (!/^[A-Za-z0-9_-]{43}$/.test(token)) return { kind: 'gone' };
    const key = this.context.keys.consoleUpload(token);
    const parsed = upload.safeParse(await this.context.redis.hgetall(key));
    if (!parsed.success) return { kind: 'gone' };
    // Someone else's upload is left where it is: they may still submit it.
    if (parsed.data.name !== name) return { kind: 'not-yours', owner: parsed.data.name };
    return (await this.context.redis.del(key)) === 1 ? { kind: 'taken', upload: parsed.data } : { kind: 'gone' };
  }
}
