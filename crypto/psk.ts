/**
 * Password → 32-byte pre-shared key for the Noise handshake.
 *
 * Argon2id (libsodium crypto_pwhash) is deliberately slow and memory-hard so
 * that someone who records a handshake cannot cheaply test password guesses
 * against it. Every peer must derive the same key from the same password, so
 * the salt is fixed: a versioned, weft-specific constant (domain separation from
 * any other use of the same password). The parameters are part of the protocol:
 * changing them (or the salt) changes every key, so they move only together
 * with the version in the salt.
 *
 * Measured on the 2-core build machine: one derivation takes ~0.18 s (0.18–0.5 s
 * under memory pressure, see `npm run bench:crypto`) and
 * 128 MiB of memory; routers derive once at start.
 *
 * Never log the password or the key.
 */
import { utf8Bytes } from './bytes.js';
import { type PwhashArgs, sodium } from './sodium.js';

export const PSK_BYTES = 32;

export const PSK_KDF = Object.freeze({
  algorithm: 'argon2id13',
  /** Exactly crypto_pwhash_SALTBYTES (16) ASCII bytes; the "v1" is the KDF version. */
  salt: 'weft/psk/v1/salt',
  opslimit: 3,
  memlimit: 128 * 1024 * 1024,
});

/** The crypto_pwhash arguments for `password`, writing into a fresh 32-byte key. */
function pwhashArgs(password: string): PwhashArgs {
  if (typeof password !== 'string' || password.length === 0) {
    throw new RangeError('derivePsk: the password must be a non-empty string');
  }
  // NFC so that the same visible password typed on different systems (composed
  // vs decomposed accents) gives the same key.
  const pw = utf8Bytes(password.normalize('NFC'));
  const salt = utf8Bytes(PSK_KDF.salt);
  if (salt.length !== sodium.crypto_pwhash_SALTBYTES) throw new Error('psk: salt has the wrong size');
  return [
    new Uint8Array(PSK_BYTES),
    pw,
    salt,
    PSK_KDF.opslimit,
    PSK_KDF.memlimit,
    sodium.crypto_pwhash_ALG_ARGON2ID13,
  ];
}

/** Synchronous derivation (blocks the thread for ~0.2 s): fine at start-up, not on a busy loop. */
export function derivePsk(password: string): Uint8Array {
  const args = pwhashArgs(password);
  try {
    sodium.crypto_pwhash(...args);
  } finally {
    sodium.sodium_memzero(args[1]); // our copy of the password bytes
  }
  return args[0];
}

/** Same key as `derivePsk`, computed on libuv's thread pool so the event loop keeps running. */
export async function derivePskAsync(password: string): Promise<Uint8Array> {
  const args = pwhashArgs(password);
  try {
    await sodium.crypto_pwhash_async(...args);
  } finally {
    sodium.sodium_memzero(args[1]);
  }
  return args[0];
}
