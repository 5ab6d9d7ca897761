// Text appended as UTF-8 into one buffer, up to a byte limit, with a 32-bit word view of
// the same memory for the block hash. Encoding is native (TextEncoder.encodeInto, no
// intermediate string or Buffer), and the buffer is reused from call to call: hashing a
// prompt allocates nothing in proportion to it. Not reentrant; every use is synchronous.

const encoder = new TextEncoder();

/** Buffers up to this size are kept for the next call; a larger prompt gets one of its own. */
const KEEP_BYTES = 1 << 20;

let kept = new Uint8Array(64 * 1024);
let keptWords = new Int32Array(kept.buffer);

export class Utf8Writer {
  private buffer = kept;
  private wordView = keptWords;
  /** Bytes written; at least `limit` once the text reached it (then later writes are ignored). */
  length = 0;

  /** `limit`: bytes past it are never needed (the writer may hold a few more). */
  constructor(private readonly limit: number) {}

  get bytes(): Uint8Array {
    return this.buffer;
  }

  /** The same memory as host-order 32-bit words, from offset 0. */
  get words(): Int32Array {
    return this.wordView;
  }

  write(text: string): void {
    let from = 0;
    while (from < text.length && this.length < this.limit) {
      const rest = from === 0 ? text : text.substring(from);
      // Room for one byte per character, the common case. When the rest needs more, the
      // encoder stops within 3 bytes of the end, so the next turn's reserve grows the buffer.
      this.reserve(Math.min(this.limit, this.length + rest.length) + 4);
      const { read, written } = encoder.encodeInto(rest, this.buffer.subarray(this.length));
      this.length += written;
      from += read;
    }
  }

  writeByte(value: number): void {
    if (this.length >= this.limit) return;
    this.reserve(this.length + 1);
    this.buffer[this.length++] = value;
  }

  private reserve(bytes: number): void {
    if (bytes <= this.buffer.length) return;
    let size = this.buffer.length;
    while (size < bytes) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buffer.subarray(0, this.length));
    this.buffer = next;
    this.wordView = new Int32Array(next.buffer, 0, size >> 2);
    if (size <= KEEP_BYTES) {
      kept = next;
      keptWords = this.wordView;
    }
  }
}
