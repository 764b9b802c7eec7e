/**
 * The libsodium functions weft uses, typed. sodium-native ships no type
 * declarations, so it is loaded through `createRequire` and described here
 * (only what we call) rather than with an ambient `declare module` that another
 * folder could contradict. Every function writes into caller-provided buffers,
 * which is what lets the hot paths avoid allocating per packet.
 */
import { createRequire } from 'node:module';

/** output, password, salt, opslimit, memlimit, algorithm */
export type PwhashArgs = [
  output: Uint8Array,
  password: Uint8Array,
  salt: Uint8Array,
  opslimit: number,
  memlimit: number,
  algorithm: number,
];

export interface SodiumApi {
  crypto_aead_chacha20poly1305_ietf_ABYTES: number;
  crypto_aead_chacha20poly1305_ietf_KEYBYTES: number;
  crypto_aead_chacha20poly1305_ietf_NPUBBYTES: number;
  /** Returns the number of bytes written to `ciphertext` (plaintext length + ABYTES). */
  crypto_aead_chacha20poly1305_ietf_encrypt(
    ciphertext: Uint8Array,
    message: Uint8Array,
    ad: Uint8Array | null,
    nsec: null,
    npub: Uint8Array,
    key: Uint8Array,
  ): number;
  /** Throws if authentication fails; returns the number of bytes written to `message`. */
  crypto_aead_chacha20poly1305_ietf_decrypt(
    message: Uint8Array,
    nsec: null,
    ciphertext: Uint8Array,
    ad: Uint8Array | null,
    npub: Uint8Array,
    key: Uint8Array,
  ): number;

  crypto_generichash_BYTES: number;
  crypto_generichash_KEYBYTES_MIN: number;
  crypto_generichash_KEYBYTES_MAX: number;
  crypto_generichash(output: Uint8Array, input: Uint8Array, key?: Uint8Array): void;

  crypto_pwhash_SALTBYTES: number;
  crypto_pwhash_ALG_ARGON2ID13: number;
  crypto_pwhash(...args: PwhashArgs): void;
  /** Runs on libuv's thread pool; resolves when `output` is filled. */
  crypto_pwhash_async(...args: PwhashArgs): Promise<void>;

  crypto_scalarmult_BYTES: number;
  crypto_scalarmult_SCALARBYTES: number;
  crypto_scalarmult_base(publicKey: Uint8Array, secretKey: Uint8Array): void;
  /** Throws when the result is all zeros (a low-order remote point). */
  crypto_scalarmult(shared: Uint8Array, secretKey: Uint8Array, remotePublicKey: Uint8Array): void;

  sodium_memzero(buf: Uint8Array): void;
}

const require = createRequire(import.meta.url);

export const sodium = require('sodium-native') as SodiumApi;
