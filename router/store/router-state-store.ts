/**
 * The daemon's own persisted state (peer name, direct peers) in the router
 * database, behind the daemon's `RouterStateStore` seam
 * (router/daemon/router-state.ts): a drop-in for its JSON file.
 */

import type { Database } from './database.js';
import { MetaStore } from './meta-store.js';
import type { RouterStateStore } from './router-state.js';
import { TargetsStore } from './targets-store.js';

export const PEER_NAME_KEY = 'router.peer-name';

export class SqliteRouterState implements RouterStateStore {
  private readonly meta: MetaStore;
  private readonly targets: TargetsStore;

  /** `ownsDb`: close the database with this store. */
  constructor(
    private readonly db: Database,
    private readonly ownsDb = false,
  ) {
    this.meta = new MetaStore(db);
    this.targets = new TargetsStore(db);
  }

  peerName(): string | undefined {
    return this.meta.get(PEER_NAME_KEY);
  }
  setPeerName(name: string): void {
    this.meta.set(PEER_NAME_KEY, name);
  }
  directPeers(): string[] {
    return this.targets.list();
  }
  setDirectPeers(peers: readonly string[]): void {
    this.targets.replace(peers);
  }
  close(): void {
    if (this.ownsDb) this.db.close();
  }
}
