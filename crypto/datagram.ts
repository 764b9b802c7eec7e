/**
 * Sleeve packet sealing: the TypeScript reference implementation (the oracle
 * for the native engine, which must produce and accept exactly these bytes;
 * see crypto/testdata/sleeve-vectors.json and docs/protocol.md).
 *
 *   packet = header(28) ‖ ChaCha20-Poly1305-IETF(key, nonce = 0⁴ ‖ counter_be64, ad = header, body)
 *
 * One sealer per sending direction (counters from 0, never repeated for a key);
 * one opener per receiving direction (replay window). Keys come from the mesh
 * session: `sleeveKeys(session)`. A null key means an unencrypted mesh: packets
 * are plain (flag clear, key id 0) and an opener never accepts the other mode.
 */
import type { Result } from '../common/result.js';
import { err, ok } from '../common/result.js';
import { equalBytes, utf8Bytes } from './bytes.js';
import type { MeshSession } from './contracts.js';
import { MAX_COUNTER, ReplayWindow } from './replay-window.js';
import {
  decodeSleeveHeader,
  OFF_COUNTER,
  PEER_NAME_BYTES,
  SLEEVE_HEADER_BYTES,
  SLEEVE_MAX_DATAGRAM,
  type SleeveHeaderError,
  type SleeveType,
  writeSleeveHeader,
} from './sleeve-header.js';
import { sodium } from './sodium.js';
import { AEAD_KEY_BYTES, AEAD_TAG_BYTES } from './stream-seal.js';

export const SLEEVE_KEY_LABEL = 'weft sleeve v1';
const KEY_ID_MESSAGE = utf8Bytes('weft sleeve key id v1');
/** Largest body a sealed packet can carry. */
export const SLEEVE_MAX_SEALED_BODY = SLEEVE_MAX_DATAGRAM - SLEEVE_HEADER_BYTES - AEAD_TAG_BYTES;
export const SLEEVE_MAX_PLAIN_BODY = SLEEVE_MAX_DATAGRAM - SLEEVE_HEADER_BYTES;
const NONCE_BYTES = 12;

/** First 4 bytes (big-endian uint32) of BLAKE2b-256(key = direction key, "weft sleeve key id v1"). */
export function sleeveKeyId(key: Uint8Array): number {
  checkKey(key);
  const digest = new Uint8Array(32);
  sodium.crypto_generichash(digest, KEY_ID_MESSAGE, key);
  return new DataView(digest.buffer).getUint32(0, false);
}

export interface SleeveKeys {
  send: Uint8Array;
  recv: Uint8Array;
  sendKeyId: number;
  recvKeyId: number;
}

/** The sleeve's per-direction keys for a mesh session (what the native engine is configured with). */
export function sleeveKeys(session: MeshSession): SleeveKeys {
  const { send, recv } = session.deriveKeys(SLEEVE_KEY_LABEL);
  return { send, recv, sendKeyId: sleeveKeyId(send), recvKeyId: sleeveKeyId(recv) };
}

function checkKey(key: Uint8Array): void {
  if (key.length !== AEAD_KEY_BYTES) throw new RangeError('sleeve key must be 32 bytes');
}

function checkName(name: Uint8Array, what: string): Uint8Array {
  if (name.length !== PEER_NAME_BYTES) throw new RangeError(`sleeve ${what} name must be 6 bytes`);
  return Uint8Array.from(name);
}

/** nonce = 00 00 00 00 ‖ the header's 8 counter bytes verbatim. */
function nonceFromHeader(nonce: Uint8Array, packet: Uint8Array): void {
  nonce.fill(0, 0, 4);
  nonce.set(packet.subarray(OFF_COUNTER, OFF_COUNTER + 8), 4);
}

export interface SleeveSealerOptions {
  /** Send-direction key, or null for plain packets (unencrypted mesh). */
  key: Uint8Array | null;
  /** Our peer name (6 bytes). */
  sender: Uint8Array;
  /** The next hop's peer name (6 bytes). */
  receiver: Uint8Array;
  /** Counter of the first packet (tests and vectors only; real senders start at 0). */
  firstCounter?: bigint;
}

export class SleeveSealer {
  private readonly key: Uint8Array | null;
  private readonly keyId: number;
  private readonly sender: Uint8Array;
  private readonly receiver: Uint8Array;
  private readonly nonce = new Uint8Array(NONCE_BYTES);
  private nextCounter: bigint;
  private exhausted = false;

  constructor(opts: SleeveSealerOptions) {
    if (opts.key !== null) checkKey(opts.key);
    this.key = opts.key === null ? null : Uint8Array.from(opts.key);
    this.keyId = opts.key === null ? 0 : sleeveKeyId(opts.key);
    this.sender = checkName(opts.sender, 'sender');
    this.receiver = checkName(opts.receiver, 'receiver');
    this.nextCounter = opts.firstCounter ?? 0n;
    if (this.nextCounter < 0n || this.nextCounter > MAX_COUNTER)
      throw new RangeError('sleeve: bad first counter');
  }

  /** The counter the next packet will carry. */
  get counter(): bigint {
    return this.nextCounter;
  }

  seal(type: SleeveType, body: Uint8Array): Uint8Array {
    if (this.exhausted) throw new Error('sleeve: counter space exhausted; the session must be replaced');
    const sealed = this.key !== null;
    const max = sealed ? SLEEVE_MAX_SEALED_BODY : SLEEVE_MAX_PLAIN_BODY;
    if (body.length > max) throw new RangeError(`sleeve body of ${body.length} bytes exceeds ${max}`);
    const counter = this.nextCounter;
    if (counter === MAX_COUNTER) this.exhausted = true;
    else this.nextCounter = counter + 1n;

    const packet = new Uint8Array(SLEEVE_HEADER_BYTES + body.length + (sealed ? AEAD_TAG_BYTES : 0));
    writeSleeveHeader(packet, {
      type,
      sealed,
      keyId: this.keyId,
      counter,
      sender: this.sender,
      receiver: this.receiver,
    });
    if (this.key === null) {
      packet.set(body, SLEEVE_HEADER_BYTES);
      return packet;
    }
    nonceFromHeader(this.nonce, packet);
    sodium.crypto_aead_chacha20poly1305_ietf_encrypt(
      packet.subarray(SLEEVE_HEADER_BYTES),
      body,
      packet.subarray(0, SLEEVE_HEADER_BYTES),
      null,
      this.nonce,
      this.key,
    );
    return packet;
  }
}

export type SleeveOpenError =
  | SleeveHeaderError
  | { kind: 'not-for-us'; message: string }
  | { kind: 'wrong-sender'; message: string }
  | { kind: 'mode-mismatch'; message: string }
  | { kind: 'unknown-key'; message: string }
  | { kind: 'replayed'; message: string }
  | { kind: 'auth-failed'; message: string };

export interface OpenedSleevePacket {
  type: SleeveType;
  counter: bigint;
  body: Uint8Array;
}

export interface SleeveOpenerOptions {
  /** Receive-direction key, or null for plain packets (unencrypted mesh). */
  key: Uint8Array | null;
  /** Our peer name: packets must be addressed to it. */
  local: Uint8Array;
  /** The neighbour this direction receives from. */
  remote: Uint8Array;
}

export class SleeveOpener {
  private readonly key: Uint8Array | null;
  private readonly keyId: number;
  private readonly local: Uint8Array;
  private readonly remote: Uint8Array;
  private readonly window = new ReplayWindow();
  private readonly nonce = new Uint8Array(NONCE_BYTES);

  constructor(opts: SleeveOpenerOptions) {
    if (opts.key !== null) checkKey(opts.key);
    this.key = opts.key === null ? null : Uint8Array.from(opts.key);
    this.keyId = opts.key === null ? 0 : sleeveKeyId(opts.key);
    this.local = checkName(opts.local, 'local');
    this.remote = checkName(opts.remote, 'remote');
  }

  /** Steps 1–6 of the receive order in docs/protocol.md. Never throws. */
  open(packet: Uint8Array): Result<OpenedSleevePacket, SleeveOpenError> {
    const decoded = decodeSleeveHeader(packet);
    if (!decoded.ok) return decoded;
    const h = decoded.value;
    if (!equalBytes(h.receiver, this.local))
      return err({ kind: 'not-for-us', message: 'sleeve packet for another peer' });
    if (!equalBytes(h.sender, this.remote))
      return err({ kind: 'wrong-sender', message: 'sleeve packet from another peer' });
    if (h.sealed !== (this.key !== null)) {
      return err({
        kind: 'mode-mismatch',
        message: h.sealed ? 'sealed packet on a plain session' : 'plain packet on an encrypted session',
      });
    }
    if (this.key === null) {
      return ok({ type: h.type, counter: h.counter, body: packet.slice(SLEEVE_HEADER_BYTES) });
    }
    if (h.keyId !== this.keyId)
      return err({ kind: 'unknown-key', message: 'sleeve packet sealed for another session' });
    if (packet.length < SLEEVE_HEADER_BYTES + AEAD_TAG_BYTES) {
      return err({ kind: 'too-short', message: 'sealed sleeve packet shorter than header and tag' });
    }
    if (!this.window.check(h.counter))
      return err({ kind: 'replayed', message: `counter ${h.counter} replayed or too old` });
    nonceFromHeader(this.nonce, packet);
    const body = new Uint8Array(packet.length - SLEEVE_HEADER_BYTES - AEAD_TAG_BYTES);
    try {
      sodium.crypto_aead_chacha20poly1305_ietf_decrypt(
        body,
        null,
        packet.subarray(SLEEVE_HEADER_BYTES),
        packet.subarray(0, SLEEVE_HEADER_BYTES),
        this.nonce,
        this.key,
      );
    } catch {
      return err({ kind: 'auth-failed', message: 'sleeve packet failed authentication' });
    }
    if (!this.window.accept(h.counter))
      return err({ kind: 'replayed', message: `counter ${h.counter} replayed` });
    return ok({ type: h.type, counter: h.counter, body });
  }
}
