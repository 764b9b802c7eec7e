/**
 * The X25519 "curve module" handed to noise-handshake. The library's own module
 * draws ephemeral keys from libsodium's system RNG; ours draws the secret scalar
 * from the `Random` the caller passes, so a handshake run with a SeededRandom is
 * reproducible byte for byte (the simulator depends on that) while the daemon's
 * `cryptoRandom` gives real entropy.
 */
import type { Random } from '../common/random.js';
import { sodium } from './sodium.js';

export interface KeyPair {
  publicKey: Buffer;
  secretKey: Buffer;
}

/** The shape noise-handshake expects of `opts.curve`. */
export interface CurveModule {
  DHLEN: number;
  PKLEN: number;
  SKLEN: number;
  ALG: string;
  generateKeyPair(secretKey?: Uint8Array): KeyPair;
  dh(publicKey: Uint8Array, keyPair: { secretKey: Uint8Array }): Buffer;
}

export const X25519_KEY_BYTES = 32;

export function x25519FromRandom(random: Random): CurveModule {
  return {
    DHLEN: X25519_KEY_BYTES,
    PKLEN: X25519_KEY_BYTES,
    SKLEN: X25519_KEY_BYTES,
    ALG: '25519',
    generateKeyPair(secretKey?: Uint8Array): KeyPair {
      const sk = Buffer.from(secretKey ?? random.bytes(X25519_KEY_BYTES));
      if (sk.length !== X25519_KEY_BYTES) throw new RangeError('x25519: secret key must be 32 bytes');
      const pk = Buffer.alloc(X25519_KEY_BYTES);
      sodium.crypto_scalarmult_base(pk, sk); // clamps the scalar internally
      return { publicKey: pk, secretKey: sk };
    },
    dh(publicKey: Uint8Array, keyPair: { secretKey: Uint8Array }): Buffer {
      if (publicKey.length !== X25519_KEY_BYTES || keyPair.secretKey.length !== X25519_KEY_BYTES) {
        throw new RangeError('x25519: keys must be 32 bytes');
      }
      const out = Buffer.alloc(X25519_KEY_BYTES);
      // Throws on a low-order remote point (all-zero result); the handshake maps that to auth-failed.
      sodium.crypto_scalarmult(out, keyPair.secretKey, publicKey);
      return out;
    },
  };
}
