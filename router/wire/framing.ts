/**
 * Length-prefixed framing for everything after the intro.
 *
 *    0                   4
 *  +---------------------+---------------------------------+
 *  | length (u32, BE)    | body (length bytes)             |
 *  +---------------------+---------------------------------+
 *
 * The body is a message (tag + MessagePack, see messages.ts) or, once a Noise
 * session exists, that message sealed. A length over the cap is a typed error:
 * the connection is closed before buffering any of it, so a hostile peer cannot
 * make us allocate more than the cap.
 */
import type { Result } from '../../common/result.js';
import { err, ok } from '../../common/result.js';
import { type DecodeError, decodeError } from './errors.js';

export const FRAME_HEADER_BYTES = 4;
/** Largest body we send or accept (the topology of 1000 peers is ~100 KiB). */
export const MAX_FRAME_BYTES = 8 * 1024 * 1024;
/**
 * Cap before the peer is accepted (intro, Noise handshake, hello): the
 * largest of those messages is a handshake message (1 + 48 + 1024 bytes), so
 * an unauthenticated peer can make us buffer at most this much per connection
 * instead of 8 MiB. Raised to MAX_FRAME_BYTES once the hello is accepted.
 */
export const MAX_PREAUTH_FRAME_BYTES = 4096;

export function encodeFrame(body: Uint8Array, maxBytes = MAX_FRAME_BYTES): Uint8Array {
  if (body.length > maxBytes) throw new RangeError(`frame body of ${body.length} bytes exceeds ${maxBytes}`);
  const out = new Uint8Array(FRAME_HEADER_BYTES + body.length);
  new DataView(out.buffer).setUint32(0, body.length, false);
  out.set(body, FRAME_HEADER_BYTES);
  return out;
}

/**
 * Reassembles frames from arbitrary chunks. Keeps a list of chunks instead of
 * concatenating on every push, so many small reads stay linear.
 */
export class FrameReader {
  private chunks: Uint8Array[] = [];
  /** Offset into chunks[0] of the first unread byte. */
  private offset = 0;
  private available = 0;
  private failed: DecodeError | null = null;

  constructor(private maxBytes = MAX_FRAME_BYTES) {}

  /** Change the cap for frames not yet started (the connection raises it once the peer is accepted). */
  setLimit(maxBytes: number): void {
    this.maxBytes = maxBytes;
  }

  /** Bytes received but not yet returned as frames. */
  get buffered(): number {
    return this.available;
  }

  push(chunk: Uint8Array): void {
    if (chunk.length === 0 || this.failed) return;
    this.chunks.push(chunk);
    this.available += chunk.length;
  }

  /** Take `n` raw bytes (used for the fixed-size intro), or null if not yet there. */
  take(n: number): Uint8Array | null {
    if (this.available < n) return null;
    return this.read(n);
  }

  /**
   * The next complete frame body, null if more bytes are needed, or an error
   * (sticky: once the stream is broken every later call returns it).
   */
  next(): Result<Uint8Array | null, DecodeError> {
    if (this.failed) return err(this.failed);
    if (this.available < FRAME_HEADER_BYTES) return ok(null);
    const len = this.peekU32();
    if (len > this.maxBytes) {
      this.failed = decodeError('too-large', `frame of ${len} bytes exceeds the ${this.maxBytes}-byte cap`);
      this.chunks = [];
      this.available = 0;
      return err(this.failed);
    }
    if (this.available < FRAME_HEADER_BYTES + len) return ok(null);
    this.read(FRAME_HEADER_BYTES);
    return ok(this.read(len));
  }

  private peekU32(): number {
    let v = 0;
    let need = FRAME_HEADER_BYTES;
    let off = this.offset;
    for (const c of this.chunks) {
      for (let i = off; i < c.length && need > 0; i++, need--) v = v * 256 + c[i]!;
      if (need === 0) break;
      off = 0;
    }
    return v;
  }

  private read(n: number): Uint8Array {
    if (n === 0) return new Uint8Array(0);
    const first = this.chunks[0]!;
    this.available -= n;
    // Fast path: the bytes lie in the first chunk; hand out a view, no copy.
    if (first.length - this.offset >= n) {
      const out = first.subarray(this.offset, this.offset + n);
      this.offset += n;
      if (this.offset === first.length) {
        this.chunks.shift();
        this.offset = 0;
      }
      return out;
    }
    const out = new Uint8Array(n);
    let filled = 0;
    while (filled < n) {
      const c = this.chunks[0]!;
      const m = Math.min(n - filled, c.length - this.offset);
      out.set(c.subarray(this.offset, this.offset + m), filled);
      filled += m;
      this.offset += m;
      if (this.offset === c.length) {
        this.chunks.shift();
        this.offset = 0;
      }
    }
    return out;
  }
}
