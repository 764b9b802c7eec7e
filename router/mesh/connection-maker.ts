/**
 * The connection maker: which addresses to dial, and when. Pure bookkeeping;
 * the router asks it for a plan and performs the dials.
 *
 * Targets come from the command line and `connect` (direct: persisted by the
 * daemon and passed back after a restart) and, unless discovery is off, from
 * gossip: the addresses other peers list for peers we are not connected to.
 *
 *   waiting ──due──► connecting ──hello accepted──► connected
 *      ▲                 │                             │
 *      └──back-off───────┘ (dial failed, refused,      │ connection ended
 *      ▲                     handshake failed)         │ (back-off reset if it
 *      └───────────────────────────────────────────────┘  lasted long enough)
 *   satisfied: the target's peer is connected to us through another
 *              connection (e.g. it dialled us); dialled again when that ends.
 *   failed:    never retried (name collision, or the address is ourselves).
 */
import type { Random } from '../../common/random.js';
import { type BackoffPolicy, backoffDelay } from './backoff.js';

export type TargetStateName = 'waiting' | 'connecting' | 'connected' | 'satisfied' | 'failed';

export interface Target {
  readonly address: string;
  /** From the command line or the API (persisted), as opposed to discovered. */
  direct: boolean;
  state: TargetStateName;
  /** Consecutive failed attempts (drives the back-off). */
  failures: number;
  /** When a waiting target is due. */
  nextAttemptAt: number;
  lastError: string | null;
  /** The peer last found at this address. */
  peer: string | null;
  /** The connection working on this target (connecting/connected). */
  connId: number | null;
  connectedSince: number;
  /** Forgotten while a connection still worked on it: dropped when that ends. */
  forgotten: boolean;
}

export interface MakerOptions {
  backoff: BackoffPolicy;
  /** A connection that lasted this long resets the back-off. */
  resetAfterMs: number;
  discovery: boolean;
  random: Random;
}

export interface MakerPlan {
  /** Targets to dial now (marked connecting; the caller reports the connection id). */
  dial: Target[];
  /** When to ask again (the earliest waiting target), if any. */
  wakeAt: number | undefined;
}

export class ConnectionMaker {
  private readonly targets = new Map<string, Target>();

  constructor(private readonly opts: MakerOptions) {}

  get discovery(): boolean {
    return this.opts.discovery;
  }

  list(): Target[] {
    return [...this.targets.values()].sort((a, b) =>
      a.address < b.address ? -1 : a.address > b.address ? 1 : 0,
    );
  }

  get(address: string): Target | undefined {
    return this.targets.get(address);
  }

  /** Direct targets, for persistence. */
  directAddresses(): string[] {
    return this.list()
      .filter((t) => t.direct)
      .map((t) => t.address);
  }

  private add(address: string, direct: boolean, now: number): void {
    const t = this.targets.get(address);
    if (t) {
      if (direct) t.direct = true;
      t.forgotten = false;
      return;
    }
    this.targets.set(address, {
      address,
      direct,
      state: 'waiting',
      failures: 0,
      nextAttemptAt: now,
      lastError: null,
      peer: null,
      connId: null,
      connectedSince: 0,
      forgotten: false,
    });
  }

  /** Add direct targets; with `replace`, the others stop being direct. Returns whether the direct set changed. */
  connect(addresses: readonly string[], replace: boolean, now: number): boolean {
    const before = this.directAddresses().join(',');
    const wanted = new Set(addresses);
    if (replace) {
      for (const t of [...this.targets.values()]) if (t.direct && !wanted.has(t.address)) this.drop(t);
    }
    for (const a of addresses) {
      this.add(a, true, now);
      // An explicit connect retries a permanently failed target (the user fixed something).
      const t = this.targets.get(a)!;
      if (t.state === 'failed') {
        t.state = 'waiting';
        t.failures = 0;
        t.nextAttemptAt = now;
      }
    }
    return before !== this.directAddresses().join(',');
  }

  /** Stop trying these addresses (existing connections stay up). Returns whether the direct set changed. */
  forget(addresses: readonly string[]): boolean {
    let changed = false;
    for (const a of addresses) {
      const t = this.targets.get(a);
      if (t?.direct) changed = true;
      if (t) this.drop(t);
    }
    return changed;
  }

  /** No longer a direct target: gone now, or when the connection working on it ends. */
  private drop(t: Target): void {
    t.direct = false;
    if (t.connId === null) this.targets.delete(t.address);
    else t.forgotten = true;
  }

  /**
   * Replace the discovered candidates (address → peer name) learned from gossip.
   * Discovered targets that are no longer candidates and are idle go away.
   */
  setDiscovered(candidates: ReadonlyMap<string, string>, now: number): void {
    if (!this.opts.discovery) return;
    for (const [address, peer] of candidates) {
      this.add(address, false, now);
      const t = this.targets.get(address)!;
      if (t.peer === null) t.peer = peer;
    }
    for (const t of [...this.targets.values()]) {
      if (!t.direct && !candidates.has(t.address) && t.connId === null && t.state !== 'failed') {
        this.targets.delete(t.address);
      }
    }
  }

  /**
   * What to dial now. `isConnected(peer)` says whether we have a connection to a
   * peer; `room` is how many more connections the limit allows.
   */
  plan(now: number, isConnected: (peer: string) => boolean, room: number): MakerPlan {
    const dial: Target[] = [];
    let wakeAt: number | undefined;
    for (const t of this.list()) {
      if (t.state === 'satisfied' && !(t.peer !== null && isConnected(t.peer))) {
        // The connection that satisfied it is gone (or not registered yet): dial after a short
        // back-off, not at once, so two peers that keep losing tie-breaks cannot spin.
        t.state = 'waiting';
        t.nextAttemptAt = now + backoffDelay(this.opts.backoff, 1, this.opts.random);
      }
      if (t.state !== 'waiting') continue;
      if (t.peer !== null && isConnected(t.peer)) {
        t.state = 'satisfied';
        continue;
      }
      if (t.nextAttemptAt > now) {
        wakeAt = wakeAt === undefined ? t.nextAttemptAt : Math.min(wakeAt, t.nextAttemptAt);
        continue;
      }
      if (dial.length >= room) continue;
      t.state = 'connecting';
      dial.push(t);
    }
    return { dial, wakeAt };
  }

  /** The router opened (or is dialling) connection `connId` for this target. */
  attempting(address: string, connId: number): void {
    const t = this.targets.get(address);
    if (t) {
      t.state = 'connecting';
      t.connId = connId;
    }
  }

  /** The hello on our outbound connection was accepted. */
  connected(address: string, connId: number, peer: string, now: number): void {
    const t = this.targets.get(address);
    if (!t || t.connId !== connId) return;
    t.state = 'connected';
    t.peer = peer;
    t.connectedSince = now;
    t.lastError = null;
  }

  /** The peer at this target turned out to be connected already through another connection. */
  satisfied(address: string, connId: number, peer: string): void {
    const t = this.targets.get(address);
    if (!t || t.connId !== connId) return;
    t.state = 'satisfied';
    t.peer = peer;
    t.connId = null;
    t.failures = 0;
    t.lastError = null;
  }

  /**
   * The attempt or connection for this target ended. `permanent` failures are
   * never retried (until an explicit connect). Returns the delay chosen.
   */
  ended(
    address: string,
    connId: number | null,
    now: number,
    outcome: { error: string | null; permanent?: boolean; peer?: string },
  ): number | undefined {
    const t = this.targets.get(address);
    if (!t || (connId !== null && t.connId !== connId)) return undefined;
    const wasConnected = t.state === 'connected';
    t.connId = null;
    if (outcome.peer) t.peer = outcome.peer;
    t.lastError = outcome.error;
    if (!t.direct && (t.forgotten || !this.opts.discovery)) {
      this.targets.delete(address);
      return undefined;
    }
    if (outcome.permanent) {
      t.state = 'failed';
      return undefined;
    }
    if (wasConnected && now - t.connectedSince >= this.opts.resetAfterMs) t.failures = 0;
    t.failures++;
    const delay = backoffDelay(this.opts.backoff, t.failures, this.opts.random);
    t.state = 'waiting';
    t.nextAttemptAt = now + delay;
    return delay;
  }
}
