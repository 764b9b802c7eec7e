/**
 * What `MeshRouter.report()` returns: everything /report and /status need
 * about the mesh, as plain JSON-safe data (UIDs as decimal strings).
 */
import type { OverlayConnectionInfo } from './overlay-api.js';

export interface MeshPeerConnectionReport {
  /** Remote peer name. */
  name: string;
  /** Remote nickname, if we know its record. */
  nickname: string;
  address: string;
  outbound: boolean;
  established: boolean;
}

export interface MeshPeerReport {
  name: string;
  nickname: string;
  uid: string;
  version: number;
  shortId: number | null;
  connections: MeshPeerConnectionReport[];
}

export interface MeshConnectionReport {
  id: number;
  address: string;
  outbound: boolean;
  /** dialing | intro | handshake | hello | prepared | established */
  state: string;
  /** Human explanation of the state. */
  info: string;
  name?: string;
  nickname?: string;
  uid?: string;
  encrypted: boolean;
  protocolVersion?: number;
  overlay?: OverlayConnectionInfo;
}

export interface MeshTargetReport {
  address: string;
  direct: boolean;
  /** waiting | connecting | connected | satisfied | failed */
  state: string;
  failures: number;
  lastError: string | null;
  /** For waiting targets: milliseconds until the next attempt. */
  retryInMs?: number;
  peer?: string;
}

export interface MeshReport {
  name: string;
  nickname: string;
  uid: string;
  version: number;
  shortId: number | null;
  protocol: { name: string; minVersion: number; maxVersion: number };
  encryption: boolean;
  peerDiscovery: boolean;
  port: number;
  connLimit: number;
  /** Reachable peers, ourselves first, then by name. */
  peers: MeshPeerReport[];
  connections: MeshConnectionReport[];
  targets: MeshTargetReport[];
  /** Accepted connections that ended since start. */
  terminations: number;
  /** Next hop over symmetric established connections, for each reachable peer. */
  unicastRoutes: Record<string, string>;
  /** Fingerprint of the topology: equal on all routers that agree. */
  topologyDigest: string;
}
