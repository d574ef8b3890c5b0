import { createHash } from 'node:crypto';

/**
 * The payment ids seen so far and the line of each, to name both lines of a repeated payment.
 * This is the one structure that grows with the manifest, so an entry is 8 bytes of the id's hash
 * (as an 8-character string) and a line number: about 55 MB for a million rows, and a chance of
 * two different ids sharing a hash below one in ten million even then.
 */
export class DuplicateIndex {
  private readonly lines = new Map<string, number>();

  /** The line where this payment id was first seen, or undefined (and it is recorded) if never. */
  firstLine(paymentId: string, line: number): number | undefined {
    const key = createHash('sha256').update(paymentId).digest().toString('latin1', 0, 8);
    const first = this.lines.get(key);
    if (first === undefined) this.lines.set(key, line);
    return first;
  }
}
