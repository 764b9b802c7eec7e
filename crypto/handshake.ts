/**
 * The mesh handshake: Noise_NNpsk0_25519_ChaChaPoly_BLAKE2b (noise-handshake).
 *
 *   initiator                                   responder
 *      │  msg1: e.pub(32) ‖ AEAD(payload)(n+16)     │   psk mixed in first: only a peer
 *      │ ─────────────────────────────────────────► │   with the same password can open it
 *      │  msg2: e.pub(32) ‖ AEAD(payload)(n+16)     │   ee: fresh DH → forward secrecy
 *      │ ◄───────────────────────────────────────── │
 *   split() → (k_i→r, k_r→i), handshake hash h → NoiseMeshSession
 *
 * Both sides authenticate each other by knowledge of the PSK (derived from the
 * password) and get per-connection forward secrecy from the ephemeral DH. The
 * prologue (both intros, see `handshakePrologue`) is hashed in, so a tampered
 * intro — e.g. a downgraded version range — makes the handshake fail.
 *
 * States:
 *   initiator: send1 ──next()──► await2 ──receive() ok──► done
 *   responder: await1 ──receive() ok──► send2 ──next()──► done
 *   any receive() error ──► failed   (responder after auth-failed on msg1: decoy ──next()──► failed)
 *
 * The decoy: a responder that cannot authenticate msg1 answers with random
 * bytes of a real msg2's size. The initiator then fails authentication too, so
 * BOTH sides report `auth-failed` (a clear "password mismatch" on both ends)
 * without any unauthenticated "you are wrong" signal an attacker could forge.
 *
 * `receive()` never throws: hostile bytes give a typed HandshakeError.
 */
import type { Random } from '../common/random.js';
import type { Result } from '../common/result.js';
import { err, ok } from '../common/result.js';
import { concatBytes, lengthPrefixed, utf8Bytes } from './bytes.js';
import type { HandshakeError, HandshakeOptions, MeshHandshake, MeshSession } from './contracts.js';
import { X25519_KEY_BYTES, x25519FromRandom } from './curve.js';
import { Noise, type NoiseState } from './noise.js';
import { PSK_BYTES } from './psk.js';
import { NoiseMeshSession } from './session.js';
import { AEAD_TAG_BYTES } from './stream-seal.js';

export const HANDSHAKE_PATTERN = 'NNpsk0';
/** Each handshake message: ephemeral public key, then the AEAD-sealed payload. */
export const HANDSHAKE_OVERHEAD = X25519_KEY_BYTES + AEAD_TAG_BYTES;
/** Payloads ride inside the handshake; keep them small (the intro already went in the clear). */
export const MAX_HANDSHAKE_PAYLOAD = 1024;
export const MAX_HANDSHAKE_MESSAGE = HANDSHAKE_OVERHEAD + MAX_HANDSHAKE_PAYLOAD;
const PROLOGUE_DOMAIN = utf8Bytes('weft mesh prologue v1');

type State = 'send1' | 'await2' | 'await1' | 'send2' | 'decoy' | 'done' | 'failed';

/** The bytes both sides bind into the handshake: the two intros, in initiator/responder order. */
export function handshakePrologue(initiatorIntro: Uint8Array, responderIntro: Uint8Array): Uint8Array {
  return concatBytes(PROLOGUE_DOMAIN, lengthPrefixed(initiatorIntro), lengthPrefixed(responderIntro));
}

export function createHandshake(opts: HandshakeOptions): MeshHandshake {
  return new NoiseHandshake(opts);
}

class NoiseHandshake implements MeshHandshake {
  private state: State;
  private readonly noise: NoiseState;
  private readonly random: Random;
  private established: MeshSession | null = null;

  constructor(opts: HandshakeOptions) {
    if (opts.psk.length !== PSK_BYTES) throw new RangeError(`handshake: psk must be ${PSK_BYTES} bytes`);
    this.random = opts.random;
    // NN patterns have no static key; hand the library a dummy one so it does
    // not draw randomness (or do a scalar multiplication) for a key never used.
    const unusedStatic = {
      publicKey: Buffer.alloc(X25519_KEY_BYTES),
      secretKey: Buffer.alloc(X25519_KEY_BYTES),
    };
    this.noise = new Noise(HANDSHAKE_PATTERN, opts.initiator, unusedStatic, {
      psk: Buffer.from(opts.psk),
      curve: x25519FromRandom(opts.random),
    });
    this.noise.initialise(Buffer.from(opts.prologue));
    this.state = opts.initiator ? 'send1' : 'await1';
  }

  get done(): boolean {
    return this.state === 'done';
  }

  next(payload: Uint8Array = new Uint8Array(0)): Uint8Array | null {
    if (payload.length > MAX_HANDSHAKE_PAYLOAD) {
      throw new RangeError(`handshake payload of ${payload.length} bytes exceeds ${MAX_HANDSHAKE_PAYLOAD}`);
    }
    switch (this.state) {
      case 'send1': {
        const msg = this.noise.send(Buffer.from(payload));
        this.state = 'await2';
        return new Uint8Array(msg);
      }
      case 'send2': {
        const msg = this.noise.send(Buffer.from(payload));
        this.finish();
        return new Uint8Array(msg);
      }
      case 'decoy':
        this.state = 'failed';
        return this.random.bytes(HANDSHAKE_OVERHEAD + payload.length);
      default:
        return null;
    }
  }

  receive(msg: Uint8Array): Result<Uint8Array, HandshakeError> {
    if (this.state !== 'await1' && this.state !== 'await2') {
      return err({ kind: 'unexpected', message: `handshake message received in state ${this.state}` });
    }
    const awaiting = this.state;
    if (msg.length < HANDSHAKE_OVERHEAD || msg.length > MAX_HANDSHAKE_MESSAGE) {
      this.state = 'failed';
      return err({
        kind: 'malformed',
        message: `handshake message of ${msg.length} bytes (expected ${HANDSHAKE_OVERHEAD}..${MAX_HANDSHAKE_MESSAGE})`,
      });
    }
    let payload: Buffer;
    try {
      // A copy: the library zeroes parts of the buffer it was given when it completes.
      payload = this.noise.recv(Buffer.from(msg));
    } catch {
      this.state = awaiting === 'await1' ? 'decoy' : 'failed';
      return err({
        kind: 'auth-failed',
        message:
          'handshake authentication failed: the peer uses a different password, or the message was altered',
      });
    }
    if (awaiting === 'await1') this.state = 'send2';
    else this.finish();
    return ok(new Uint8Array(payload));
  }

  session(): MeshSession {
    if (this.established === null)
      throw new Error('handshake: session() called before the handshake is done');
    return this.established;
  }

  private finish(): void {
    const { tx, rx, hash } = this.noise;
    if (!this.noise.complete || tx === null || rx === null || hash === null) {
      throw new Error('handshake: noise state incomplete after the final message');
    }
    this.established = new NoiseMeshSession({ send: tx, recv: rx, handshakeHash: hash });
    this.state = 'done';
  }
}
