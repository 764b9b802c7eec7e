/**
 * What the MeshRouter core asks its shell to do, and what the shell tells it.
 *
 * The core never performs I/O. Every stream is named by a number the core
 * allocates (for accepted streams `streamAccepted` returns it; for dials it is
 * in the `dial` effect). Effects go to one synchronous sink, in order; the
 * shell must not call back into the core from inside the sink (queue the
 * consequence instead: a transport that reports a close synchronously while
 * closing should have its report ignored, since the core already knows).
 */
import type { StreamCloseReason, TransportError } from '../transport/stream.js';

export type MeshEffect =
  /** Write bytes on a stream, in order. */
  | { kind: 'write'; stream: number; bytes: Uint8Array }
  /** Close a stream (after flushing what was written). The core forgets it. */
  | { kind: 'close'; stream: number }
  /** Open an outbound stream; answer with `dialSucceeded(stream, …)` or `dialFailed(stream, …)`. */
  | { kind: 'dial'; stream: number; address: string; timeoutMs: number }
  /** (Re)arm timer `key` to fire after `delayMs`; call `timerFired(key)` then. Setting an armed key replaces it. */
  | { kind: 'set-timer'; key: string; delayMs: number }
  | { kind: 'cancel-timer'; key: string }
  /** The direct targets changed: store them, pass them back as `targets` on the next start. */
  | { kind: 'persist-targets'; addresses: string[] }
  /** Something in `report()` changed (for metrics, watchers). */
  | { kind: 'changed'; what: 'topology' | 'connections' | 'targets' };

export type EffectSink = (effect: MeshEffect) => void;

export interface StreamInfo {
  remoteAddress: string;
  localAddress: string;
}

export interface DialFailure {
  kind: TransportError['kind'];
  message: string;
}

export type { StreamCloseReason };
