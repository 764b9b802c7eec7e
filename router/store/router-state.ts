/**
 * What the daemon itself persists in the data dir: the peer name and the
 * direct peers (command-line and /connect targets), so a restarted router
 * keeps its identity and re-tries the peers it was told about. The daemon
 * keeps them in the router database (router/store/router-state-store.ts,
 * SQLite, durable on return); this seam keeps the daemon's wiring testable
 * without it.
 */
export interface RouterStateStore {
  peerName(): string | undefined;
  setPeerName(name: string): void;
  directPeers(): string[];
  setDirectPeers(peers: readonly string[]): void;
  close(): void;
}
