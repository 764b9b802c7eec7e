/**
 * What the daemon itself persists in the data dir: the peer name and the
 * direct peers (command-line and /connect targets), so a restarted router
 * keeps its identity and re-tries the peers it was told about.
 *
 * `RouterStateStore` is the seam; `JsonRouterState` keeps it in one small JSON
 * file written atomically (temp file, fsync, rename), so a kill -9 mid-write
 * leaves the old or the new version, never half of one.
 */
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';

export interface RouterStateStore {
  peerName(): string | undefined;
  setPeerName(name: string): void;
  directPeers(): string[];
  setDirectPeers(peers: readonly string[]): void;
  close(): void;
}

interface StateFile {
  peerName?: string;
  directPeers?: string[];
}

export const ROUTER_STATE_FILE = 'router-state.json';

export class JsonRouterState implements RouterStateStore {
  private state: StateFile;
  private readonly path: string;

  constructor(dataDir: string) {
    this.path = join(dataDir, ROUTER_STATE_FILE);
    this.state = JsonRouterState.load(this.path);
  }

  /** A missing or unreadable file is an empty state: the name is then re-derived, peers re-given. */
  private static load(path: string): StateFile {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch {
      return {};
    }
    try {
      const v = JSON.parse(text) as unknown;
      if (typeof v !== 'object' || v === null) return {};
      const o = v as Record<string, unknown>;
      const out: StateFile = {};
      if (typeof o.peerName === 'string') out.peerName = o.peerName;
      if (Array.isArray(o.directPeers)) out.directPeers = o.directPeers.filter((p) => typeof p === 'string');
      return out;
    } catch {
      return {};
    }
  }

  private save(): void {
    const tmp = `${this.path}.tmp`;
    const fd = openSync(tmp, 'w', 0o600);
    try {
      writeSync(fd, `${JSON.stringify(this.state, null, 2)}\n`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, this.path);
  }

  peerName(): string | undefined {
    return this.state.peerName;
  }
  setPeerName(name: string): void {
    this.state = { ...this.state, peerName: name };
    this.save();
  }
  directPeers(): string[] {
    return [...(this.state.directPeers ?? [])];
  }
  setDirectPeers(peers: readonly string[]): void {
    this.state = { ...this.state, directPeers: [...peers] };
    this.save();
  }
  close(): void {}
}
