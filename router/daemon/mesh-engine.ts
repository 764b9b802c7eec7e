/**
 * What the daemon's lifecycle needs from the mesh: start listening and dialing,
 * answer the API, stop. The implementation (mesh-driver.ts) runs the pure mesh
 * core from router/mesh over real sockets and timers.
 */
import type { Clock } from '../../common/clock.js';
import type { Logger } from '../../common/logger.js';
import type { Random } from '../../common/random.js';
import type { MeshControl } from '../api/mesh-control.js';
import type { Overlay } from '../mesh/overlay-api.js';
import type { MeshRouter } from '../mesh/router.js';
import type { StreamTransport } from '../transport/stream.js';

export interface MeshEngineConfig {
  name: string;
  nickname: string;
  uid: bigint;
  /** PSK from the password, or null for an unencrypted mesh. */
  psk: Uint8Array | null;
  port: number;
  /** Bind address for the mesh port ("" = all). */
  host: string;
  connLimit: number;
  discovery: boolean;
  /** Direct peers to start with (command line ∪ persisted). */
  targets: string[];
  /** The data plane; the mesh's do-nothing overlay when absent. */
  overlay?: Overlay;
}

export interface MeshEngineDeps {
  transport: StreamTransport;
  clock: Clock;
  random: Random;
  logger: Logger;
  /** Called whenever the direct-peer list (command line + /connect − /forget) changes, to persist it. */
  directPeersChanged(peers: readonly string[]): void;
}

export interface MeshEngine extends MeshControl {
  /** The core itself, for subsystems (gossip channels, peer changes, routes). */
  readonly router: MeshRouter;
  /** Listen on the mesh port and start connecting; resolves with the bound address. */
  start(): Promise<string>;
  /** Close every connection and the listener, cancel timers. */
  stop(): Promise<void>;
}
