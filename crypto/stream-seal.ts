/**
 * Frame sealing on an ordered, reliable stream (the TCP mesh connection).
 *
 *   sealed frame = ChaCha20-Poly1305-IETF(key, nonce, ad = empty, plain) = ciphertext ‖ tag(16)
 *   nonce (12 bytes) = 0x00000000 ‖ counter as 64-bit little-endian (the Noise convention)
 *
 * The counter is implicit: both ends count frames from 0, one per direction, so
 * nothing but the ciphertext travels. A dropped, duplicated, reordered or
 * altered frame makes the receiver's counter disagree with the sender's and the
 * tag check fails. A stream that failed once stays failed: the connection is
 * broken and must be closed (no oracle for an attacker to probe).
 */
import type { Result } from '../common/result.js';
import { err, ok } from '../common/result.js';
import type { OpenError, StreamOpener, StreamSealer } from './contracts.js';
import { sodium } from './sodium.js';

export const AEAD_TAG_BYTES = 16;
export const AEAD_KEY_BYTES = 32;
const NONCE_BYTES = 12;
/** Counters are JS numbers; 2^53 frames is far beyond any connection's life. */
const MAX_STREAM_COUNTER = Number.MAX_SAFE_INTEGER;

function writeCounterNonce(nonce: Uint8Array, counter: number): void {
  const view = new DataView(nonce.buffer, nonce.byteOffset, nonce.byteLength);
  view.setUint32(0, 0, true);
  view.setUint32(4, counter >>> 0, true);
  view.setUint32(8, Math.floor(counter / 2 ** 32), true);
}

function checkKey(key: Uint8Array): Uint8Array {
  if (key.length !== AEAD_KEY_BYTES) throw new RangeError('stream key must be 32 bytes');
  return Uint8Array.from(key);
}

export class ChaChaStreamSealer implements StreamSealer {
  private readonly key: Uint8Array;
  private readonly nonce = new Uint8Array(NONCE_BYTES);
  private counter = 0;

  constructor(key: Uint8Array) {
    this.key = checkKey(key);
  }

  /** Frames sealed so far (the next frame's counter). */
  get sealed(): number {
    return this.counter;
  }

  seal(plain: Uint8Array): Uint8Array {
    if (this.counter >= MAX_STREAM_COUNTER)
      throw new Error('stream counter exhausted: the connection must be re-established');
    writeCounterNonce(this.nonce, this.counter);
    this.counter++;
    const out = new Uint8Array(plain.length + AEAD_TAG_BYTES);
    sodium.crypto_aead_chacha20poly1305_ietf_encrypt(out, plain, null, null, this.nonce, this.key);
    return out;
  }
}

export class ChaChaStreamOpener implements StreamOpener {
  private readonly key: Uint8Array;
  private readonly nonce = new Uint8Array(NONCE_BYTES);
  private counter = 0;
  private broken = false;

  constructor(key: Uint8Array) {
    this.key = checkKey(key);
  }

  /** Frames opened so far (the counter the next frame must carry). */
  get opened(): number {
    return this.counter;
  }

  get failed(): boolean {
    return this.broken;
  }

  open(sealed: Uint8Array): Result<Uint8Array, OpenError> {
    if (this.broken) return err({ kind: 'auth-failed' });
    if (sealed.length < AEAD_TAG_BYTES) {
      this.broken = true;
      return err({
        kind: 'malformed',
        message: `sealed frame of ${sealed.length} bytes is shorter than its tag`,
      });
    }
    writeCounterNonce(this.nonce, this.counter);
    const plain = new Uint8Array(sealed.length - AEAD_TAG_BYTES);
    try {
      sodium.crypto_aead_chacha20poly1305_ietf_decrypt(plain, null, sealed, null, this.nonce, this.key);
    } catch {
      this.broken = true;
      return err({ kind: 'auth-failed' });
    }
    this.counter++;
    return ok(plain);
  }
}
