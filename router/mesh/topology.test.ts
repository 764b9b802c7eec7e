import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { arbRecord } from '../wire/arbitraries.js';
import type { PeerRecord } from '../wire/topology.js';
import { compareRecords, joinRecords, Topology } from './topology.js';

const NAMES = ['02:00:00:00:00:01', '02:00:00:00:00:02', '02:00:00:00:00:03', '02:00:00:00:00:04'];

/** Records over a small name space so that merges collide on names, versions and UIDs. */
const arbSmallRecord: fc.Arbitrary<PeerRecord> = fc
  .record({
    name: fc.constantFrom(...NAMES),
    version: fc.integer({ min: 0, max: 3 }),
    uid: fc.bigInt({ min: 1n, max: 3n }),
    base: arbRecord,
    remotes: fc.subarray(NAMES),
  })
  .map(({ name, version, uid, base, remotes }) => ({
    ...base,
    name,
    version,
    uid,
    connections: remotes
      .filter((r) => r !== name)
      .map((remote) => ({
        remote,
        address: `${remote}:1`,
        outbound: base.version % 2 === 0,
        established: true,
      })),
  }));

const arbSet = fc.array(arbSmallRecord, { maxLength: 8 });

function join(...sets: PeerRecord[][]): Map<string, PeerRecord> {
  const m = new Map<string, PeerRecord>();
  for (const s of sets) joinRecords(m, s);
  return m;
}

function canon(m: Map<string, PeerRecord>): unknown {
  return [...m.values()].sort((a, b) => (a.name < b.name ? -1 : 1));
}

describe('topology merge is a lattice join', () => {
  it('commutative', () => {
    fc.assert(
      fc.property(arbSet, arbSet, (a, b) => {
        expect(canon(join(a, b))).toEqual(canon(join(b, a)));
      }),
      { numRuns: 500 },
    );
  });
  it('associative', () => {
    fc.assert(
      fc.property(arbSet, arbSet, arbSet, (a, b, c) => {
        const left = join([...join(a, b).values()], c);
        const right = join(a, [...join(b, c).values()]);
        expect(canon(left)).toEqual(canon(right));
      }),
      { numRuns: 500 },
    );
  });
  it('idempotent', () => {
    fc.assert(
      fc.property(arbSet, (a) => {
        const once = join(a);
        expect(canon(join([...once.values()], [...once.values()]))).toEqual(canon(once));
        expect(joinRecords(new Map(once), [...once.values()])).toEqual([]);
      }),
      { numRuns: 500 },
    );
  });
  it('orders records by version, then UID, then content', () => {
    const r = (version: number, uid: bigint, nickname = 'x'): PeerRecord => ({
      name: NAMES[0]!,
      nickname,
      uid,
      version,
      shortId: null,
      connections: [],
    });
    expect(compareRecords(r(2, 1n), r(1, 9n))).toBeGreaterThan(0);
    expect(compareRecords(r(1, 2n), r(1, 1n))).toBeGreaterThan(0);
    expect(compareRecords(r(1, 1n, 'b'), r(1, 1n, 'a'))).toBeGreaterThan(0);
    expect(compareRecords(r(1, 1n), r(1, 1n))).toBe(0);
  });
});

function us(): Topology {
  return new Topology({ name: NAMES[0]!, nickname: 'us', uid: 100n, shortId: 1 });
}

function rec(name: string, version: number, remotes: string[], uid = 5n): PeerRecord {
  return {
    name,
    nickname: name.slice(-2),
    uid,
    version,
    shortId: null,
    connections: remotes.map((remote) => ({
      remote,
      address: `${remote}:6783`,
      outbound: true,
      established: true,
    })),
  };
}

/** Reachability recomputed from scratch, to check the incremental one. */
function bfs(records: Map<string, PeerRecord>, from: string): Set<string> {
  const seen = new Set([from]);
  const q = [from];
  for (let i = 0; i < q.length; i++) {
    for (const c of records.get(q[i]!)?.connections ?? []) {
      if (!seen.has(c.remote) && records.has(c.remote)) {
        seen.add(c.remote);
        q.push(c.remote);
      }
    }
  }
  return seen;
}

describe('Topology', () => {
  it('bumps our version past a record of ourselves from another incarnation, never adopts it', () => {
    const t = us();
    const r = t.merge([rec(NAMES[0]!, 7, [NAMES[1]!], 99n)]);
    expect(r.ourselfBumped).toBe(true);
    expect(t.ourself.version).toBe(8);
    expect(t.ourself.uid).toBe(100n);
    expect(t.ourself.connections).toEqual([]);
    // An older one, or one with our own UID, changes nothing.
    expect(t.merge([rec(NAMES[0]!, 3, [], 99n), rec(NAMES[0]!, 50, [], 100n)]).ourselfBumped).toBe(false);
    expect(t.ourself.version).toBe(8);
  });

  it('bumps its version on every change of its own connections, and only then', () => {
    const t = us();
    const v0 = t.ourself.version;
    const conn = { remote: NAMES[1]!, address: 'h:1', outbound: true, established: false };
    expect(t.setOurConnections([conn])).toBe(true);
    expect(t.setOurConnections([conn])).toBe(false);
    expect(t.setOurConnections([{ ...conn, established: true }])).toBe(true);
    expect(t.ourself.version).toBe(v0 + 2);
  });

  it('incremental reachability always equals a fresh BFS', () => {
    const arbOp = fc.oneof(
      arbSmallRecord.map((r) => ({ kind: 'merge' as const, r })),
      fc.subarray(NAMES.slice(1)).map((remotes) => ({ kind: 'ours' as const, remotes })),
      fc.constant({ kind: 'collect' as const }),
    );
    fc.assert(
      fc.property(fc.array(arbOp, { maxLength: 30 }), (ops) => {
        const t = us();
        let now = 0;
        for (const op of ops) {
          if (op.kind === 'merge') t.merge([op.r]);
          else if (op.kind === 'ours')
            t.setOurConnections(
              op.remotes.map((remote) => ({ remote, address: 'x', outbound: true, established: true })),
            );
          else {
            now += 1000;
            t.collect(now, 1500);
          }
          const records = new Map<string, PeerRecord>();
          for (const n of NAMES) {
            const r = t.get(n);
            if (r) records.set(n, r);
          }
          expect(new Set(t.reachable())).toEqual(bfs(records, NAMES[0]!));
        }
      }),
      { numRuns: 500 },
    );
  });

  it('keeps an unreachable record in limbo, so a later update that reaches it needs no re-send', () => {
    const t = us();
    const [a, b, c] = [NAMES[1]!, NAMES[2]!, NAMES[3]!];
    t.setOurConnections([{ remote: a, address: 'a:1', outbound: true, established: true }]);
    t.merge([rec(a, 1, [NAMES[0]!])]);
    // c's record arrives before the update of b that connects it: unreachable, not gossiped.
    t.merge([rec(c, 1, [b])]);
    expect(t.isReachable(c)).toBe(false);
    expect(t.peers().map((p) => p.name)).not.toContain(c);
    expect(t.collect(0, 60_000).removed).toEqual([]);
    t.merge([rec(a, 2, [NAMES[0]!, b]), rec(b, 1, [a, c])]);
    expect(t.isReachable(c)).toBe(true);
    expect(t.collect(1, 60_000).added).toEqual([b, c].sort());
  });

  it('reports peers that became unreachable once, and drops their records after the limbo time', () => {
    const t = us();
    const a = NAMES[1]!;
    t.setOurConnections([{ remote: a, address: 'a:1', outbound: true, established: true }]);
    t.merge([rec(a, 1, [NAMES[0]!])]);
    expect(t.collect(0, 1000)).toEqual({ added: [a], removed: [] });
    t.setOurConnections([]);
    expect(t.collect(10, 1000)).toEqual({ added: [], removed: [a] });
    expect(t.collect(20, 1000)).toEqual({ added: [], removed: [] });
    expect(t.get(a)).toBeDefined();
    t.collect(1020, 1000);
    expect(t.get(a)).toBeUndefined();
  });

  it('digests are equal exactly when the reachable records agree', () => {
    const t1 = us();
    const t2 = us();
    const a = NAMES[1]!;
    for (const t of [t1, t2])
      t.setOurConnections([{ remote: a, address: 'a:1', outbound: true, established: true }]);
    t1.merge([rec(a, 1, [NAMES[0]!])]);
    expect(t1.digest()).not.toBe(t2.digest());
    t2.merge([rec(a, 1, [NAMES[0]!])]);
    expect(t1.digest()).toBe(t2.digest());
    t2.merge([rec(a, 2, [NAMES[0]!])]);
    expect(t1.digest()).not.toBe(t2.digest());
  });
});
