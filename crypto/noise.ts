/**
 * Typed access to the `noise-handshake` package (it ships no declarations).
 * Only the members weft uses are described.
 *
 * Note on naming: after `complete`, `tx` is the key this side ENCRYPTS with and
 * `rx` the key it decrypts with (initiator.tx === responder.rx); the package's
 * README words it the other way round.
 */
import { createRequire } from 'node:module';
import type { CurveModule, KeyPair } from './curve.js';

export interface NoiseState {
  initialise(prologue: Uint8Array, remoteStatic?: Uint8Array): void;
  send(payload?: Uint8Array): Buffer;
  recv(message: Uint8Array): Buffer;
  readonly complete: boolean;
  readonly tx: Uint8Array | null;
  readonly rx: Uint8Array | null;
  readonly hash: Uint8Array | null;
}

export interface NoiseOptions {
  psk?: Uint8Array;
  curve?: CurveModule;
}

export type NoisePattern = 'NN' | 'NNpsk0' | 'XX' | 'XXpsk0' | 'IK' | 'XK';

type NoiseConstructor = new (
  pattern: NoisePattern,
  initiator: boolean,
  staticKeypair: KeyPair | null,
  opts: NoiseOptions,
) => NoiseState;

const require = createRequire(import.meta.url);

export const Noise = require('noise-handshake') as NoiseConstructor;
