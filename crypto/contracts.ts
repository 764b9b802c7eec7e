/**
 * The seam between the mesh (router/mesh) and the cryptography (crypto/). The
 * mesh's connection driver only uses these interfaces; crypto/ implements them
 * with a Noise NNpsk0 handshake (noise-handshake) keyed by a PSK derived from
 * the password with a slow KDF, and ChaCha20-Poly1305 frame sealing with
 * explicit counters (sodium-native). All of it is pure: no sockets, no clocks;
 * randomness comes from the `Random` the caller passes.
 */
import type { Random } from '../common/random.js';
import type { Result } from '../common/result.js';

export type HandshakeError =
  | { kind: 'auth-failed'; message: string } // wrong password (PSK mismatch) or tampered message
  | { kind: 'malformed'; message: string } // not a handshake message of the expected shape/size
  | { kind: 'unexpected'; message: string }; // a message when none was expected (protocol misuse)

/**
 * One side of the handshake. Usage: the initiator calls `next()` and sends the
 * bytes; each side feeds what it receives to `receive()` and sends whatever
 * `next()` returns afterwards, until `done`.
 *
 * On a `receive()` error the handshake is over. One exception matters to the
 * caller: a responder whose `receive()` returned `auth-failed` (wrong password)
 * returns ONE decoy reply from `next()` — send it, then close — so that the
 * initiator fails with `auth-failed` too and both sides can log a password
 * mismatch. Implementation: crypto/handshake.ts (`createHandshake`); build the
 * prologue with `handshakePrologue(initiatorIntro, responderIntro)`.
 */
export interface MeshHandshake {
  readonly done: boolean;
  /** The next handshake message to send, or null if it is the other side's turn (or we are done). */
  next(payload?: Uint8Array): Uint8Array | null;
  /** Feed one handshake message from the peer; returns the payload it carried. */
  receive(msg: Uint8Array): Result<Uint8Array, HandshakeError>;
  /** Only when `done`: the established session. */
  session(): MeshSession;
}

export interface HandshakeOptions {
  initiator: boolean;
  /** 32-byte pre-shared key from `derivePsk(password)`. */
  psk: Uint8Array;
  /** Bytes both sides agree on before the handshake (the intro exchange): binds them into the keys. */
  prologue: Uint8Array;
  random: Random;
}

export type OpenError =
  | { kind: 'auth-failed' }
  | { kind: 'malformed'; message: string }
  | { kind: 'replayed' };

/** Seals frames on an ordered, reliable stream (TCP): the counter is implicit and must advance by one. */
export interface StreamSealer {
  seal(plain: Uint8Array): Uint8Array;
}
export interface StreamOpener {
  open(sealed: Uint8Array): Result<Uint8Array, OpenError>;
}

/** Directional keys for the data plane (sleeve), derived from the session so they die with it. */
export interface DirectionalKeys {
  /** Key for packets we send. */
  send: Uint8Array;
  /** Key for packets we receive. */
  recv: Uint8Array;
}

export interface MeshSession {
  readonly sealer: StreamSealer;
  readonly opener: StreamOpener;
  /** Noise handshake hash: identifies this session (same on both sides). */
  readonly handshakeHash: Uint8Array;
  /** Derive per-direction keys for another purpose (e.g. "weft sleeve v1"); both sides get mirrored pairs. */
  deriveKeys(label: string): DirectionalKeys;
}
