/**
 * A completed handshake as the mesh sees it: stream sealing for the TCP
 * connection plus `deriveKeys` for anything else keyed by the session (sleeve).
 *
 * Key schedule (k_i→r / k_r→i are Noise's split() keys, h the handshake hash):
 *
 *   stream keys   : deriveSubkey(k_dir, "weft stream v1", h)
 *   deriveKeys(L) : deriveSubkey(k_dir, "weft app v1:" ‖ L, h)
 *
 * The raw split keys are never used to encrypt anything directly, and the two
 * namespaces keep a caller's label from ever reproducing the stream keys.
 */
import type { DirectionalKeys, MeshSession } from './contracts.js';
import { deriveSubkey } from './kdf.js';
import { ChaChaStreamOpener, ChaChaStreamSealer } from './stream-seal.js';

const STREAM_LABEL = 'weft stream v1';
const APP_LABEL_PREFIX = 'weft app v1:';

export interface SplitKeys {
  /** The key this side sends with (Noise: initiator's k1, responder's k2). */
  send: Uint8Array;
  /** The key this side receives with. */
  recv: Uint8Array;
  handshakeHash: Uint8Array;
}

export class NoiseMeshSession implements MeshSession {
  readonly sealer: ChaChaStreamSealer;
  readonly opener: ChaChaStreamOpener;
  readonly handshakeHash: Uint8Array;
  private readonly split: SplitKeys;

  constructor(split: SplitKeys) {
    this.split = {
      send: Uint8Array.from(split.send),
      recv: Uint8Array.from(split.recv),
      handshakeHash: Uint8Array.from(split.handshakeHash),
    };
    this.handshakeHash = Uint8Array.from(split.handshakeHash);
    const stream = this.directional(STREAM_LABEL);
    this.sealer = new ChaChaStreamSealer(stream.send);
    this.opener = new ChaChaStreamOpener(stream.recv);
  }

  deriveKeys(label: string): DirectionalKeys {
    if (label.length === 0) throw new RangeError('deriveKeys: label must not be empty');
    return this.directional(APP_LABEL_PREFIX + label);
  }

  private directional(label: string): DirectionalKeys {
    return {
      send: deriveSubkey(this.split.send, label, this.split.handshakeHash),
      recv: deriveSubkey(this.split.recv, label, this.split.handshakeHash),
    };
  }
}
