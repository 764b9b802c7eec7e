/**
 * Bounds-checked byte reading and growable writing for IPAM's binary messages.
 * The reader never throws: every read checks the remaining length and records
 * the first failure, so a decoder written as straight-line code returns a
 * typed error on hostile input instead of crashing.
 */

export class ByteWriter {
  private buf = new Uint8Array(256);
  private len = 0;

  private room(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }

  u8(v: number): this {
    this.room(1);
    this.buf[this.len++] = v & 0xff;
    return this;
  }

  u32(v: number): this {
    this.room(4);
    this.buf[this.len++] = (v >>> 24) & 0xff;
    this.buf[this.len++] = (v >>> 16) & 0xff;
    this.buf[this.len++] = (v >>> 8) & 0xff;
    this.buf[this.len++] = v & 0xff;
    return this;
  }

  /** Unsigned LEB128 of a safe integer. */
  varint(v: number): this {
    if (!Number.isSafeInteger(v) || v < 0)
      throw new RangeError(`varint: ${v} is not a non-negative safe integer`);
    this.room(8);
    while (v >= 0x80) {
      this.buf[this.len++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.buf[this.len++] = v;
    return this;
  }

  bytes(b: Uint8Array): this {
    this.room(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
    return this;
  }

  /** A string of at most 255 UTF-8 bytes, length-prefixed. */
  str8(s: string): this {
    const b = Buffer.from(s, 'utf8');
    if (b.length > 255) throw new RangeError('str8: string longer than 255 bytes');
    this.u8(b.length);
    return this.bytes(b);
  }

  finish(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}

export class ByteReader {
  private pos = 0;
  /** The first problem met, if any; later reads return zeros. */
  failure: string | null = null;

  constructor(private readonly buf: Uint8Array) {}

  get remaining(): number {
    return this.buf.length - this.pos;
  }

  fail(reason: string): void {
    this.failure ??= reason;
  }

  private need(n: number, what: string): boolean {
    if (this.failure) return false;
    if (this.pos + n > this.buf.length) {
      this.fail(`truncated ${what}`);
      return false;
    }
    return true;
  }

  u8(what = 'u8'): number {
    if (!this.need(1, what)) return 0;
    return this.buf[this.pos++]!;
  }

  u32(what = 'u32'): number {
    if (!this.need(4, what)) return 0;
    const b = this.buf;
    const p = this.pos;
    this.pos += 4;
    return ((b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!) >>> 0;
  }

  varint(what = 'varint'): number {
    let v = 0;
    let scale = 1;
    for (let i = 0; i < 8; i++) {
      if (!this.need(1, what)) return 0;
      const byte = this.buf[this.pos++]!;
      v += (byte & 0x7f) * scale;
      if ((byte & 0x80) === 0) {
        if (!Number.isSafeInteger(v)) {
          this.fail(`${what} too large`);
          return 0;
        }
        return v;
      }
      scale *= 0x80;
    }
    this.fail(`${what} too long`);
    return 0;
  }

  bytes(n: number, what = 'bytes'): Uint8Array {
    if (!this.need(n, what)) return new Uint8Array(0);
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  str8(what = 'string'): string {
    const n = this.u8(what);
    const b = this.bytes(n, what);
    if (this.failure) return '';
    const s = Buffer.from(b.buffer, b.byteOffset, b.length).toString('utf8');
    // Reject invalid UTF-8 rather than letting replacement characters through.
    if (Buffer.byteLength(s, 'utf8') !== n) {
      this.fail(`${what} is not valid UTF-8`);
      return '';
    }
    return s;
  }
}
