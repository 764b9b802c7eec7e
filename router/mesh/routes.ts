/**
 * Routes over a topology snapshot, computed deterministically so that every
 * router with the same topology makes the same choices.
 *
 * Graphs: the *gossip* graph has an edge X→Y when X lists a connection to Y
 * (any state); the *data* graph has an edge X–Y only when both list each other
 * as established (symmetric), which is what the data plane may use.
 *
 * BFS: level by level, each level's frontier in ascending peer-name order and
 * each peer's connections in ascending order; a peer's first hop is inherited
 * from whoever discovered it first. Names are indexed in sorted order, so
 * "sorted by name" is "sorted by index".
 *
 * Broadcast: a broadcast from S travels, at every peer X, from X's next hop
 * towards S to X. So we relay S's broadcast to exactly those neighbours N whose
 * own next hop towards S is us. Each peer's parent is unique, so with an
 * agreed topology every reachable peer receives each broadcast exactly once
 * (the tree is the shortest-path in-tree towards S, the reverse of every
 * peer's unicast route to S). Computing it needs one BFS from us and one from
 * each neighbour, for all sources at once, instead of one per source.
 */
import type { PeerRecord } from '../wire/topology.js';
import type { MeshRoutes } from './overlay-api.js';

export type GraphKind = 'gossip' | 'data';

const NONE = -1;

interface Bfs {
  /** firstHop[i] = index of the first hop from the root towards i, NONE if unreachable (root: itself). */
  firstHop: Int32Array;
}

export class RouteTable {
  private readonly names: string[];
  private readonly index = new Map<string, number>();
  /**
   * Adjacency in compressed sparse rows: the sorted neighbours of i are
   * edges[offsets[i] .. offsets[i+1]). Two typed arrays per table instead of
   * one per peer (a simulation holds a thousand tables of a thousand peers).
   */
  private readonly offsets: Int32Array;
  private readonly edges: Int32Array;
  private readonly bfsCache = new Map<number, Bfs>();
  private readonly self: number;

  /**
   * @param records the topology (records that are not reachable do no harm: BFS never reaches them)
   * @param ourName the peer these routes are for
   */
  constructor(
    records: Iterable<PeerRecord>,
    ourName: string,
    readonly kind: GraphKind,
  ) {
    const byName = new Map<string, PeerRecord>();
    for (const r of records) byName.set(r.name, r);
    this.names = [...byName.keys()].sort();
    for (let i = 0; i < this.names.length; i++) this.index.set(this.names[i]!, i);
    const offsets = new Int32Array(this.names.length + 1);
    const edges: number[] = [];
    for (let i = 0; i < this.names.length; i++) {
      const n = this.names[i]!;
      for (const c of byName.get(n)!.connections) {
        const j = this.index.get(c.remote);
        if (j === undefined) continue;
        if (kind === 'data') {
          if (!c.established) continue;
          const back = byName.get(c.remote)!.connections.find((b) => b.remote === n);
          if (!back?.established) continue;
        }
        edges.push(j);
      }
      offsets[i + 1] = edges.length;
    }
    this.offsets = offsets;
    this.edges = Int32Array.from(edges);
    // Rows sorted by index = by name (records normally come sorted; do not depend on it).
    for (let i = 0; i < this.names.length; i++) this.row(i).sort();
    this.self = this.index.get(ourName) ?? NONE;
  }

  private bfs(root: number): Bfs {
    let b = this.bfsCache.get(root);
    if (b) return b;
    const n = this.names.length;
    const firstHop = new Int32Array(n).fill(NONE);
    firstHop[root] = root;
    let frontier = [root];
    while (frontier.length > 0) {
      const next: number[] = [];
      for (const u of frontier) {
        const hop = u === root ? NONE : firstHop[u]!;
        for (let e = this.offsets[u]!; e < this.offsets[u + 1]!; e++) {
          const v = this.edges[e]!;
          if (firstHop[v] !== NONE) continue;
          firstHop[v] = u === root ? v : hop;
          next.push(v);
        }
      }
      next.sort((a, b) => a - b);
      frontier = next;
    }
    b = { firstHop };
    this.bfsCache.set(root, b);
    return b;
  }

  private row(i: number): Int32Array {
    return this.edges.subarray(this.offsets[i]!, this.offsets[i + 1]!);
  }

  /** Our neighbours in this graph. */
  neighbours(): string[] {
    if (this.self === NONE) return [];
    return [...this.row(this.self)].map((i) => this.names[i]!);
  }

  /** Next hop from us towards dst, or undefined if unreachable (or dst is us). */
  unicastNextHop(dst: string): string | undefined {
    const d = this.index.get(dst);
    if (d === undefined || this.self === NONE || d === this.self) return undefined;
    const h = this.bfs(this.self).firstHop[d]!;
    return h === NONE ? undefined : this.names[h];
  }

  /** Next hop from `from` towards `dst` as `from` computes it (same topology ⇒ same answer). */
  nextHopFrom(from: string, dst: string): string | undefined {
    const f = this.index.get(from);
    const d = this.index.get(dst);
    if (f === undefined || d === undefined || f === d) return undefined;
    const h = this.bfs(f).firstHop[d]!;
    return h === NONE ? undefined : this.names[h];
  }

  /** Every peer reachable from us with its next hop. */
  unicastAll(): Map<string, string> {
    const out = new Map<string, string>();
    if (this.self === NONE) return out;
    const { firstHop } = this.bfs(this.self);
    for (let i = 0; i < firstHop.length; i++) {
      if (i !== this.self && firstHop[i] !== NONE) out.set(this.names[i]!, this.names[firstHop[i]!]!);
    }
    return out;
  }

  /** Whether `name` is in this graph at all (has a record). */
  knows(name: string): boolean {
    return this.index.has(name);
  }

  /**
   * Neighbours to pass a broadcast from `src` on to: those whose next hop
   * towards src is us. `undefined` if src is unknown here (callers decide
   * whether to flood or drop).
   */
  broadcastNextHops(src: string): string[] | undefined {
    const s = this.index.get(src);
    if (s === undefined || this.self === NONE) return undefined;
    const out: string[] = [];
    for (const nb of this.row(this.self)) {
      if (nb !== s && this.bfs(nb).firstHop[s] === this.self) out.push(this.names[nb]!);
    }
    return out;
  }
}

/** The data plane's view of a data-graph table (unknown sources: no next hops, never a flood). */
export function meshRoutesOf(table: RouteTable): MeshRoutes {
  return {
    unicastNextHop: (dst) => table.unicastNextHop(dst),
    broadcastNextHops: (src) => table.broadcastNextHops(src) ?? [],
    reachable: () => [...table.unicastAll().keys()],
  };
}
