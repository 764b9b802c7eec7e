/**
 * The topology CRDT: what this router knows about every peer (name, nickname,
 * UID, version, connections). Pure: the owner passes `now` where time matters
 * (limbo expiry) and applies the returned changes.
 *
 * Merge rule per peer name (Weave's): the record with the higher version wins;
 * at equal versions the higher UID wins (a restarted peer has a new UID);
 * at equal version and UID the bytes decide (so merge is a true lattice join
 * even for records a buggy or hostile peer made up: commutative, associative,
 * idempotent). Our own record is never replaced: one about us with another
 * UID (a previous incarnation, or a clone) makes us bump our version past it,
 * so our current record wins everywhere.
 *
 * Reachability and garbage collection: a peer is reachable if a chain of
 * connection lists leads from us to it. Only reachable records are gossiped
 * and reported. An unreachable record is not thrown away at once: it waits in
 * limbo (`limboMs`) because gossip can deliver a new peer's record before the
 * update of the peer it connected to; when that update arrives, the record is
 * reachable again without another round of gossip. Peers that leave the
 * reachable set are reported once (`collect()`), so the overlay and other
 * subsystems can forget them.
 */
import { type ConnectionRecord, encodeRecord, type PeerRecord } from '../wire/topology.js';

export type { ConnectionRecord, PeerRecord };

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

/** Total order on two records of the same name: > 0 if `a` wins. */
export function compareRecords(a: PeerRecord, b: PeerRecord): number {
  if (a.version !== b.version) return a.version - b.version;
  if (a.uid !== b.uid) return a.uid > b.uid ? 1 : -1;
  if (a === b) return 0;
  return compareBytes(encodeRecord(a), encodeRecord(b));
}

/**
 * The lattice join on plain maps of records (no "ourselves" rule): returns
 * the records of `incoming` that won, and applies them to `into`.
 */
export function joinRecords(into: Map<string, PeerRecord>, incoming: Iterable<PeerRecord>): PeerRecord[] {
  const won: PeerRecord[] = [];
  for (const r of incoming) {
    const cur = into.get(r.name);
    if (cur === undefined || compareRecords(r, cur) > 0) {
      into.set(r.name, r);
      won.push(r);
    }
  }
  return won;
}

export function sameConnections(a: readonly ConnectionRecord[], b: readonly ConnectionRecord[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (
      x.remote !== y.remote ||
      x.address !== y.address ||
      x.outbound !== y.outbound ||
      x.established !== y.established
    )
      return false;
  }
  return true;
}

export interface MergeResult {
  /** Records (other than ours) that were new to us, in arrival order. */
  changed: PeerRecord[];
  /** We bumped our own version because of a record about us with another UID. */
  ourselfBumped: boolean;
  /** Records not taken because the topology is at its limits (see TopologyLimits). */
  refused: number;
}

/**
 * What peers' gossip can make us hold, in all (each message is capped by the
 * wire decoder, but records accumulate across messages): far above any real
 * mesh (a thousand routers with their connection limit of 200 each is 1000
 * records, 200 000 connections), a bound for a hostile or broken peer. At the
 * limit new records, and updates that add connections, are refused — merge
 * stops being a pure join only there.
 */
export interface TopologyLimits {
  maxPeers: number;
  maxConnections: number;
}

export const TOPOLOGY_LIMITS: TopologyLimits = { maxPeers: 1 << 16, maxConnections: 1 << 19 };

const FNV_OFFSET = 0x811c9dc5;
function fnv1a(s: string, h = FNV_OFFSET): number {
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

export class Topology {
  private readonly records = new Map<string, PeerRecord>();
  /** Peers not reachable at the last `collect()`, with the time they were found so. */
  private readonly limbo = new Map<string, number>();
  /** Reachable peers as of the last `collect()` (what the overlay was told about). */
  private announced = new Set<string>();
  /**
   * Reachable names, kept up to date incrementally while records only gain
   * connections (the common case: every broadcast merge), recomputed from
   * scratch (lazily) after anything that can cut a path.
   */
  private reachableCache: Set<string> | null = null;
  /** remote → names whose records list it (for incremental reachability). */
  private readonly listedBy = new Map<string, Set<string>>();
  private digestCache: string | null = null;
  private self: PeerRecord;
  /** Bumped on every change; lets owners cache things derived from the topology. */
  generation = 0;
  /** Connections listed by all records held (for TopologyLimits). */
  private connectionCount = 0;

  constructor(
    ourself: { name: string; nickname: string; uid: bigint; shortId: number | null },
    private readonly limits: TopologyLimits = TOPOLOGY_LIMITS,
  ) {
    this.self = { ...ourself, version: 1, connections: [] };
    this.records.set(ourself.name, this.self);
    this.announced.add(ourself.name);
    this.reachableCache = new Set([ourself.name]);
  }

  get ourName(): string {
    return this.self.name;
  }

  get ourself(): PeerRecord {
    return this.self;
  }

  /** Any record we hold (reachable or in limbo). */
  get(name: string): PeerRecord | undefined {
    return this.records.get(name);
  }

  /** Number of records held, limbo included. */
  get size(): number {
    return this.records.size;
  }

  private changedAny(): void {
    this.generation++;
    this.digestCache = null;
  }

  /**
   * Install a record (replacing `old`), keep the reverse index, and keep the
   * reachable set valid if the change can only add paths.
   */
  private install(r: PeerRecord, old: PeerRecord | undefined): void {
    this.records.set(r.name, r);
    this.connectionCount += r.connections.length - (old?.connections.length ?? 0);
    // Both lists are sorted by remote: walk them together for added and removed connections.
    let cut = false;
    const before = old?.connections ?? [];
    const after = r.connections;
    let i = 0;
    let j = 0;
    while (i < before.length || j < after.length) {
      const b = before[i]?.remote;
      const a = after[j]?.remote;
      if (a !== undefined && (b === undefined || a < b)) {
        let s = this.listedBy.get(a);
        if (!s) {
          s = new Set();
          this.listedBy.set(a, s);
        }
        s.add(r.name);
        j++;
      } else if (b !== undefined && (a === undefined || b < a)) {
        cut = true;
        this.listedBy.get(b)?.delete(r.name);
        i++;
      } else {
        i++;
        j++;
      }
    }
    const reach = this.reachableCache;
    if (!reach) return;
    if (cut) {
      this.reachableCache = null;
      return;
    }
    if (reach.has(r.name)) {
      this.extendReachable(r.name);
      return;
    }
    for (const by of this.listedBy.get(r.name) ?? []) {
      if (reach.has(by)) {
        reach.add(r.name);
        this.extendReachable(r.name);
        return;
      }
    }
  }

  /** BFS from a reachable name over records not yet reached. */
  private extendReachable(from: string): void {
    const reach = this.reachableCache!;
    const queue = [from];
    for (let i = 0; i < queue.length; i++) {
      const r = this.records.get(queue[i]!);
      if (!r) continue;
      for (const c of r.connections) {
        if (!reach.has(c.remote) && this.records.has(c.remote)) {
          reach.add(c.remote);
          queue.push(c.remote);
        }
      }
    }
  }

  /** Drop an unreachable record for good (reachability does not change). */
  private uninstall(name: string): void {
    const r = this.records.get(name);
    if (!r) return;
    this.records.delete(name);
    this.connectionCount -= r.connections.length;
    for (const c of r.connections) this.listedBy.get(c.remote)?.delete(name);
  }

  /** Replace our connection list (sorted by remote); bumps our version if anything changed. */
  setOurConnections(connections: readonly ConnectionRecord[]): boolean {
    const sorted = [...connections].sort((a, b) => (a.remote < b.remote ? -1 : a.remote > b.remote ? 1 : 0));
    if (sameConnections(sorted, this.self.connections)) return false;
    this.replaceSelf({ connections: sorted });
    return true;
  }

  setOurShortId(shortId: number | null): void {
    if (shortId !== this.self.shortId) this.replaceSelf({ shortId });
  }

  private replaceSelf(change: Partial<PeerRecord>, minVersion = 0): void {
    const old = this.self;
    this.self = { ...this.self, ...change, version: Math.max(this.self.version + 1, minVersion) };
    this.install(this.self, old);
    this.changedAny();
  }

  /** Merge records from the network. */
  merge(incoming: readonly PeerRecord[]): MergeResult {
    const changed: PeerRecord[] = [];
    let ourselfBumped = false;
    let refused = 0;
    for (const r of incoming) {
      if (r.name === this.self.name) {
        // Same UID: it is us, from earlier; nothing newer than us can exist.
        if (r.uid !== this.self.uid && r.version >= this.self.version) {
          this.replaceSelf({}, r.version + 1);
          ourselfBumped = true;
        }
        continue;
      }
      const cur = this.records.get(r.name);
      if (cur === undefined || compareRecords(r, cur) > 0) {
        const grows = r.connections.length - (cur?.connections.length ?? 0);
        if (
          (cur === undefined && this.records.size >= this.limits.maxPeers) ||
          (grows > 0 && this.connectionCount + grows > this.limits.maxConnections)
        ) {
          refused++;
          continue;
        }
        this.install(r, cur);
        changed.push(r);
      }
    }
    if (changed.length > 0) this.changedAny();
    return { changed, ourselfBumped, refused };
  }

  /** Names reachable from us along connection lists (ours first). Cached until the next change. */
  reachable(): ReadonlySet<string> {
    if (this.reachableCache) return this.reachableCache;
    const seen = new Set<string>([this.self.name]);
    const queue: string[] = [this.self.name];
    for (let i = 0; i < queue.length; i++) {
      const r = this.records.get(queue[i]!)!;
      for (const c of r.connections) {
        if (!seen.has(c.remote) && this.records.has(c.remote)) {
          seen.add(c.remote);
          queue.push(c.remote);
        }
      }
    }
    this.reachableCache = seen;
    return seen;
  }

  isReachable(name: string): boolean {
    return this.reachable().has(name);
  }

  /** Reachable records (ours included): what we gossip and report. */
  peers(): PeerRecord[] {
    const out: PeerRecord[] = [];
    for (const name of this.reachable()) out.push(this.records.get(name)!);
    return out;
  }

  /** Records among `names` that are reachable now (for relaying what we learned). */
  reachableRecords(names: Iterable<string>): PeerRecord[] {
    const reach = this.reachable();
    const out: PeerRecord[] = [];
    for (const n of names) {
      const r = this.records.get(n);
      if (r && reach.has(n)) out.push(r);
    }
    return out;
  }

  /**
   * Garbage collection: peers that became unreachable since the last call
   * (to report as removed), peers that became reachable again, and limbo
   * records older than `limboMs` dropped for good.
   */
  collect(now: number, limboMs: number): { removed: string[]; added: string[] } {
    const reach = this.reachable();
    const removed: string[] = [];
    const added: string[] = [];
    for (const name of this.announced) if (!reach.has(name)) removed.push(name);
    for (const name of reach) {
      if (!this.announced.has(name)) added.push(name);
      this.limbo.delete(name);
    }
    for (const name of this.records.keys()) {
      if (reach.has(name)) continue;
      const since = this.limbo.get(name);
      if (since === undefined) this.limbo.set(name, now);
      else if (now - since >= limboMs) {
        this.uninstall(name);
        this.limbo.delete(name);
      }
    }
    this.announced = new Set(reach);
    removed.sort();
    added.sort();
    return { removed, added };
  }

  /**
   * A short fingerprint of the reachable topology (count and two hashes over
   * name/version/UID): equal digests on every router mean they agree. Cached.
   */
  digest(): string {
    if (this.digestCache !== null) return this.digestCache;
    let sum = 0;
    let xor = 0;
    let n = 0;
    for (const name of this.reachable()) {
      const r = this.records.get(name)!;
      const h = fnv1a(`${r.name}/${r.version}/${r.uid}`);
      sum = (sum + h) >>> 0;
      xor = (xor ^ Math.imul(h, 0x9e3779b1)) >>> 0;
      n++;
    }
    this.digestCache = `${n}:${sum.toString(16)}:${xor.toString(16)}`;
    return this.digestCache;
  }
}
