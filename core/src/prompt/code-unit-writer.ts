// Text appended as its UTF-16 code units (little-endian bytes) into one buffer, up to a
// limit, with a 32-bit word view of the same memory for the block hash. Code units, not
// UTF-8: blocks then start at the same characters as they always did, so the prefix index
// matches what it matched before, and copying them is native for any script (a one-byte
// string is widened, a two-byte one copied; UTF-8 encoding is several times slower for
// non-ASCII text, and the bench's prompts carry non-ASCII markers). The buffer is reused
// from call to call: hashing a prompt allocates nothing in proportion to it. Not
// reentrant; every use is synchronous.

/** Buffers up to this size are kept for the next call; a larger prompt gets one of its own. */
const KEEP_BYTES = 1 << 20;

function allocate(bytes: number): Buffer {
  // Its own ArrayBuffer from offset 0: Buffer's small-allocation pool would misalign the words.
  return Buffer.from(new ArrayBuffer(bytes));
}

let kept = allocate(64 * 1024);
let keptWords = new Int32Array(kept.buffer);

export class CodeUnitWriter {
  private buffer = kept;
  private wordView = keptWords;
  /** Bytes written (two per code unit), at most `limitUnits` * 2. */
  length = 0;
  private readonly limit: number;

  /** `limitUnits`: code units past it are never needed. */
  constructor(limitUnits: number) {
    this.limit = limitUnits * 2;
  }

  get bytes(): Uint8Array {
    return this.buffer;
  }

  /** The same memory as host-order 32-bit words, from offset 0. */
  get words(): Int32Array {
    return this.wordView;
  }

  write(text: string): void {
    const bytes = Math.min(this.limit - this.length, text.length * 2);
    if (bytes <= 0) return;
    this.reserve(this.length + bytes);
    this.length += this.buffer.write(text, this.length, bytes, 'utf16le');
  }

  writeUnit(unit: number): void {
    if (this.length >= this.limit) return;
    this.reserve(this.length + 2);
    this.buffer[this.length++] = unit & 0xff;
    this.buffer[this.length++] = unit >>> 8;
  }

  private reserve(bytes: number): void {
    if (bytes <= this.buffer.length) return;
    let size = this.buffer.length;
    while (size < bytes) size *= 2;
    const next = allocate(size);
    next.set(this.buffer.subarray(0, this.length));
    this.buffer = next;
    this.wordView = new Int32Array(next.buffer, 0, size >> 2);
    if (size <= KEEP_BYTES) {
      kept = next;
      keptWords = this.wordView;
    }
  }
}
