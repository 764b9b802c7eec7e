import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { PeerRecord } from '../wire/topology.js';
import { type GraphKind, RouteTable } from './routes.js';

const name = (i: number) => `02:00:00:00:00:${i.toString(16).padStart(2, '0')}`;

/** A random topology: n peers, random directed "lists" edges, each established or not. */
const arbTopology = fc
  .integer({ min: 1, max: 14 })
  .chain((n) =>
    fc.record({
      n: fc.constant(n),
      edges: fc.uniqueArray(
        fc.record({
          from: fc.nat(n - 1),
          to: fc.nat(n - 1),
          established: fc.boolean(),
          symmetric: fc.boolean(),
        }),
        { selector: (e) => `${e.from}>${e.to}`, maxLength: n * 4 },
      ),
    }),
  )
  .map(({ n, edges }) => {
    const conns = Array.from({ length: n }, () => new Map<number, boolean>());
    for (const e of edges) {
      if (e.from === e.to) continue;
      conns[e.from]!.set(e.to, e.established);
      if (e.symmetric) conns[e.to]!.set(e.from, e.established);
    }
    const records: PeerRecord[] = conns.map((m, i) => ({
      name: name(i),
      nickname: `p${i}`,
      uid: BigInt(i + 1),
      version: 1,
      shortId: null,
      connections: [...m]
        .sort((a, b) => a[0] - b[0])
        .map(([j, established]) => ({ remote: name(j), address: `h${j}:6783`, outbound: true, established })),
    }));
    return records;
  });

function edgesOf(records: PeerRecord[], kind: GraphKind): Map<string, Set<string>> {
  const byName = new Map(records.map((r) => [r.name, r]));
  const out = new Map<string, Set<string>>();
  for (const r of records) {
    const s = new Set<string>();
    for (const c of r.connections) {
      if (kind === 'data') {
        const back = byName.get(c.remote)?.connections.find((b) => b.remote === r.name);
        if (!c.established || !back?.established) continue;
      }
      s.add(c.remote);
    }
    out.set(r.name, s);
  }
  return out;
}

function reachableFrom(edges: Map<string, Set<string>>, from: string): Set<string> {
  const seen = new Set([from]);
  const q = [from];
  while (q.length) {
    for (const v of edges.get(q.shift()!) ?? []) {
      if (!seen.has(v)) {
        seen.add(v);
        q.push(v);
      }
    }
  }
  return seen;
}

/** Follow every router's broadcast next hops from each source: each reachable peer gets it exactly once. */
function expectBroadcastsExactlyOnce(records: PeerRecord[], kind: GraphKind): void {
  const edges = edgesOf(records, kind);
  const tables = new Map(records.map((r) => [r.name, new RouteTable(records, r.name, kind)]));
  for (const src of records) {
    const received = new Map<string, number>();
    const queue = [src.name];
    while (queue.length) {
      const at = queue.shift()!;
      for (const nb of tables.get(at)!.broadcastNextHops(src.name) ?? []) {
        expect(edges.get(at)!.has(nb)).toBe(true);
        received.set(nb, (received.get(nb) ?? 0) + 1);
        queue.push(nb);
      }
    }
    const reach = reachableFrom(edges, src.name);
    reach.delete(src.name);
    expect(new Set(received.keys())).toEqual(reach);
    for (const n of received.values()) expect(n).toBe(1);
  }
}

describe('routes agree with the topology', () => {
  for (const kind of ['gossip', 'data'] as const) {
    it(`${kind}: every reachable peer has a route; following next hops reaches it without loops`, () => {
      fc.assert(
        fc.property(arbTopology, (records) => {
          const edges = edgesOf(records, kind);
          const tables = new Map(records.map((r) => [r.name, new RouteTable(records, r.name, kind)]));
          for (const src of records) {
            const reach = reachableFrom(edges, src.name);
            for (const dst of records) {
              const hop = tables.get(src.name)!.unicastNextHop(dst.name);
              if (dst === src || !reach.has(dst.name)) {
                expect(hop).toBeUndefined();
                continue;
              }
              // Walk the next hops: every step uses an edge, reaches dst within n steps.
              let at = src.name;
              const visited = new Set([at]);
              while (at !== dst.name) {
                const next = tables.get(at)!.unicastNextHop(dst.name);
                expect(next).toBeDefined();
                expect(edges.get(at)!.has(next!)).toBe(true);
                expect(visited.has(next!)).toBe(false);
                visited.add(next!);
                at = next!;
              }
            }
          }
        }),
        { numRuns: 300 },
      );
    });
  }

  it('data: a broadcast from any source reaches every peer connected to it exactly once', () => {
    fc.assert(
      fc.property(arbTopology, (records) => {
        expectBroadcastsExactlyOnce(records, 'data');
      }),
      { numRuns: 300 },
    );
  });

  it('gossip: on symmetric connections a broadcast reaches every reachable peer exactly once', () => {
    fc.assert(
      fc.property(arbTopology, (records0) => {
        // Make every listed connection symmetric (as it is once both hellos are in).
        const byName = new Map(
          records0.map((r) => [r.name, new Map(r.connections.map((c) => [c.remote, c]))]),
        );
        for (const r of records0)
          for (const c of r.connections) byName.get(c.remote)!.set(r.name, { ...c, remote: r.name });
        const records = records0.map((r) => ({
          ...r,
          connections: [...byName.get(r.name)!.values()].sort((a, b) => (a.remote < b.remote ? -1 : 1)),
        }));
        expectBroadcastsExactlyOnce(records, 'gossip');
      }),
      { numRuns: 300 },
    );
  });

  it('breaks ties by name: of two equal paths the one through the lower name wins', () => {
    // a–b, a–c, b–d, c–d: from a, d is two hops via b or c; b < c.
    const rec = (i: number, nbs: number[]): PeerRecord => ({
      name: name(i),
      nickname: '',
      uid: 1n,
      version: 1,
      shortId: null,
      connections: nbs.map((j) => ({ remote: name(j), address: '', outbound: true, established: true })),
    });
    const records = [rec(0, [1, 2]), rec(1, [0, 3]), rec(2, [0, 3]), rec(3, [1, 2])];
    expect(new RouteTable(records, name(0), 'data').unicastNextHop(name(3))).toBe(name(1));
    expect(new RouteTable(records, name(3), 'data').unicastNextHop(name(0))).toBe(name(1));
    // Broadcast from a: d gets it from b only.
    expect(new RouteTable(records, name(1), 'data').broadcastNextHops(name(0))).toEqual([name(3)]);
    expect(new RouteTable(records, name(2), 'data').broadcastNextHops(name(0))).toEqual([]);
  });
});
