/**
 * The payment ids seen so far and the line of each, to name both lines of a repeated payment.
 * This is the one structure that grows with the manifest, so it holds no strings: an open-address
 * table of each id's 64-bit hash and its line, 12 bytes a slot at most half full, about 24 MB for
 * a million rows. Two different ids share a hash with a chance below one in ten million even then,
 * and the cost of that would be a row reported as a duplicate, never a payment made twice.
 */
export class DuplicateIndex {
  private hashes = new Uint32Array(2 * 1024);
  private lines = new Uint32Array(1024);
  private size = 0;

  /** The line where this payment id was first seen, or undefined (and it is recorded) if never. */
  firstLine(paymentId: string, line: number): number | undefined {
    hash64(paymentId);
    const { high, low } = hashed;
    const slot = this.find(high, low);
    const first = this.lines[slot]!;
    if (first !== 0) return first;
    this.hashes[2 * slot] = high;
    this.hashes[2 * slot + 1] = low;
    this.lines[slot] = line;
    this.size += 1;
    if (this.size * 2 > this.lines.length) this.grow();
    return undefined;
  }

  /** The slot holding this hash, or the empty one where it belongs (line 0 marks empty: lines start at 1). */
  private find(high: number, low: number): number {
    const mask = this.lines.length - 1;
    for (let slot = low & mask; ; slot = (slot + 1) & mask) {
      if (this.lines[slot] === 0 || (this.hashes[2 * slot] === high && this.hashes[2 * slot + 1] === low)) return slot;
    }
  }

  private grow(): void {
    const { hashes, lines } = this;
    this.hashes = new Uint32Array(hashes.length * 2);
    this.lines = new Uint32Array(lines.length * 2);
    for (let old = 0; old < lines.length; old += 1) {
      if (lines[old] === 0) continue;
      const slot = this.find(hashes[2 * old]!, hashes[2 * old + 1]!);
      this.hashes[2 * slot] = hashes[2 * old]!;
      this.hashes[2 * slot + 1] = hashes[2 * old + 1]!;
      this.lines[slot] = lines[old]!;
    }
  }
}

// hash64's result: written in place, since a million rows would otherwise make a million pairs.
const hashed = { high: 0, low: 0 };

/** Two independent 32-bit hashes of the UTF-16 code units (FNV-1a, and a multiply-xorshift one). */
function hash64(text: string): void {
  let high = 0x811c9dc5;
  let low = 0x9747b28c ^ text.length;
  for (let i = 0; i < text.length; i += 1) {
    const unit = text.charCodeAt(i);
    high = Math.imul(high ^ unit, 0x01000193);
    low = Math.imul(low ^ unit, 0x5bd1e995);
    low ^= low >>> 15;
  }
  // Final mixing, so ids differing only in their last characters spread over the table.
  low = Math.imul(low ^ (low >>> 13), 0xc2b2ae35);
  low ^= low >>> 16;
  hashed.high = high >>> 0;
  hashed.low = low >>> 0;
}
