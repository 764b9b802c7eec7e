/**
 * The seam between the mesh (control plane) and the data plane (fastdp VXLAN and
 * sleeve). As in Weave, every mesh connection asks the overlay to prepare a data
 * path to the same peer; the mesh marks the connection *established* only when
 * the overlay reports that data can flow (heartbeats answered), and the overlay
 * reports when the path changes (fastdp ⇄ sleeve) or fails. The overlay may send
 * small control messages to its counterpart over the mesh connection (heartbeat
 * acks, PMTU probes results, keys-ready) — those travel as the mesh's
 * OverlayControl message and are opaque to the mesh.
 *
 * The mesh ships a do-nothing overlay (established at once) for the simulator
 * and for routers started without a data plane.
 */
import type { MeshSession } from '../../crypto/contracts.js';
import type { PeerName } from './gossip-api.js';

export interface OverlayConnectionParams {
  local: PeerName;
  remote: PeerName;
  /** The remote's underlay IP address (its mesh TCP address without port). */
  remoteIp: string;
  /** The remote's mesh TCP port; the data ports derive from it (sleeve = port, fastdp = port + 1). */
  remoteMeshPort: number;
  outbound: boolean;
  /** The mesh connection's Noise session, or null when the mesh runs without a password. */
  session: MeshSession | null;
  /** Send an opaque control message to the remote's overlay over this mesh connection. */
  sendControl(msg: Uint8Array): void;
}

export interface OverlayConnectionEvents {
  /** Data can flow to the remote (first heartbeat acknowledged). */
  established(): void;
  /** The data path is gone for good; the mesh closes the connection and retries. */
  failed(reason: string): void;
  /** Something shown in /report changed (path switched, MTU found). */
  changed(): void;
}

export type OverlayPath = 'fastdp' | 'sleeve' | 'none';

export interface OverlayConnectionInfo {
  /** Which path carries data to this peer now. */
  path: OverlayPath;
  encrypted: boolean;
  healthy: boolean;
  /** Path MTU discovered for the sleeve path, if known. */
  pmtu?: number;
  /** Free-form details for /report (per-path health, counters). */
  details?: Record<string, unknown>;
}

export interface OverlayConnection {
  onControl(msg: Uint8Array): void;
  info(): OverlayConnectionInfo;
  close(): void;
}

/** What the data plane needs from the mesh's routing to relay frames. */
export interface MeshRoutes {
  /** Next hop towards dst over symmetric established connections, or undefined if unreachable. */
  unicastNextHop(dst: PeerName): PeerName | undefined;
  /** Peers to pass a broadcast from `src` on to (src's broadcast tree through us). */
  broadcastNextHops(src: PeerName): PeerName[];
  /** Every peer reachable over data routes (optional: the data plane otherwise learns them from traffic). */
  reachable?(): PeerName[];
}

export interface Overlay {
  prepareConnection(params: OverlayConnectionParams, events: OverlayConnectionEvents): OverlayConnection;
  /** Routes were recomputed (debounced by the mesh). */
  routesChanged(routes: MeshRoutes): void;
  /** Peers the mesh no longer knows (garbage-collected): forget their MACs and paths. */
  peersRemoved(names: PeerName[]): void;
}
