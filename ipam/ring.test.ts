import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ownerId } from './owner.js';
import {
  computeRingId,
  effectiveFree,
  entrySize,
  initialRing,
  joinRings,
  mergeRing,
  ownedSpans,
  ownerAt,
  type Ring,
  reassignOwner,
  rendezvousHeir,
  ringViolation,
  transferSpan,
  withFreeCounts,
} from './ring.js';
import { spansTotal } from './span.js';
import {
  hostileMutationArb,
  peerOwner,
  RANGE_END,
  RANGE_SIZE,
  RANGE_START,
  ringArb,
} from './test-arbitraries.js';

const join = (a: Ring, b: Ring) => joinRings(a, b).ring;
const nothingAllocated = () => false;

describe('ring merge is a CRDT join', () => {
  it('is commutative', () => {
    fc.assert(
      fc.property(ringArb(), ringArb(), (a, b) => {
        expect(join(a, b)).toEqual(join(b, a));
      }),
    );
  });

  it('is associative', () => {
    fc.assert(
      fc.property(ringArb(), ringArb(), ringArb(), (a, b, c) => {
        expect(join(join(a, b), c)).toEqual(join(a, join(b, c)));
      }),
    );
  });

  it('is idempotent and reports no change when merging what we already have', () => {
    fc.assert(
      fc.property(ringArb(), ringArb(), (a, b) => {
        expect(join(a, a)).toEqual(a);
        const ab = join(a, b);
        const again = joinRings(ab, b);
        expect(again.changed).toBe(false);
        expect(again.ring).toEqual(ab);
      }),
    );
  });

  it('keeps the invariants after merging arbitrary valid rings from up to 100 peers', () => {
    fc.assert(
      fc.property(fc.array(ringArb(100), { minLength: 1, maxLength: 100 }), (rings) => {
        let acc = rings[0]!;
        for (const r of rings.slice(1)) {
          const out = mergeRing(acc, r, peerOwner(0), nothingAllocated);
          expect(out.kind).not.toBe('rejected');
          if (out.kind === 'updated') acc = out.ring;
          expect(ringViolation(acc)).toBeNull();
        }
        // Every input's tokens are in the result at a version at least as new.
        for (const r of rings) {
          for (const e of r.entries) {
            const i = acc.entries.findIndex((x) => x.token === e.token);
            expect(i).toBeGreaterThanOrEqual(0);
            expect(acc.entries[i]!.version).toBeGreaterThanOrEqual(e.version);
          }
        }
      }),
      { numRuns: 50 },
    );
  });
});

describe('hostile or invalid rings', () => {
  it('are rejected and leave our ring unchanged', () => {
    fc.assert(
      fc.property(ringArb(), ringArb(), hostileMutationArb, (local, other, mutate) => {
        const snapshot = structuredClone(local);
        const bad = mutate(other);
        const out = mergeRing(local, bad, peerOwner(0), nothingAllocated);
        expect(out.kind).toBe('rejected');
        expect(local).toEqual(snapshot);
      }),
    );
  });

  it('a ring of another identity is refused as foreign (two separate bootstraps)', () => {
    const a = initialRing(RANGE_START, RANGE_END, [peerOwner(1), peerOwner(2)]);
    const b = initialRing(RANGE_START, RANGE_END, [peerOwner(3), peerOwner(4)]);
    const out = mergeRing(a, b, peerOwner(1), nothingAllocated);
    expect(out).toMatchObject({
      kind: 'rejected',
      rejection: { kind: 'foreign', theirId: b.id, ourId: a.id },
    });
  });

  it('an update that takes away space holding our allocations is refused without changing anything', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: RANGE_SIZE / 2 - 1 }), fc.boolean(), (offset, split) => {
        const me = peerOwner(1);
        const local = initialRing(RANGE_START, RANGE_END, [me, peerOwner(2)]);
        const allocated = RANGE_START + offset; // in my half
        // Hostile: either reassign my whole entry or split it at `allocated`.
        const hostile: Ring = split
          ? {
              ...local,
              entries: [
                local.entries[0]!,
                { token: allocated, owner: peerOwner(2), version: 0, free: 1 },
                local.entries[1]!,
              ],
            }
          : {
              ...local,
              entries: local.entries.map((e) =>
                e.owner === me ? { ...e, owner: peerOwner(2), version: 9 } : e,
              ),
            };
        const snapshot = structuredClone(local);
        const out = mergeRing(local, hostile, me, (a, b) => allocated >= a && allocated < b);
        expect(out).toMatchObject({ kind: 'rejected', rejection: { kind: 'takes-allocated' } });
        expect(local).toEqual(snapshot);
      }),
    );
  });

  it('reports free counts larger than a range shrunk by a concurrent split without failing (Weave #1463)', () => {
    const me = peerOwner(1);
    const ring = initialRing(RANGE_START, RANGE_END, [me]);
    // Another view split our entry: the old entry keeps its (now too large) free count.
    const split = transferSpan(ring, me, { start: RANGE_START + 16, end: RANGE_END }, peerOwner(2));
    const merged = joinRings(ring, split).ring;
    expect(ringViolation(merged)).toBeNull();
    expect(merged.entries[0]!.free).toBe(RANGE_SIZE - 2); // all but the network and broadcast address
    expect(effectiveFree(merged, 0)).toBe(16);
    expect(entrySize(merged, 0)).toBe(16);
  });
});

describe('building and changing rings', () => {
  it('the initial ring covers the range exactly with aligned shares differing at most 2x', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 300 }), fc.integer({ min: 8, max: 24 }), (n, prefix) => {
        const owners = Array.from({ length: n }, (_, i) => peerOwner(i));
        const start = 0x0a000000;
        const end = start + 2 ** (32 - prefix);
        const r = initialRing(start, end, owners);
        expect(ringViolation(r)).toBeNull();
        const shares = [...new Set(r.entries.map((e) => e.owner))].map((o) => spansTotal(ownedSpans(r, o)));
        expect(shares.reduce((a, b) => a + b, 0)).toBe(end - start);
        expect(Math.max(...shares)).toBeLessThanOrEqual(2 * Math.min(...shares));
        // Same owners in another order: same ring, same identity.
        expect(initialRing(start, end, [...owners].reverse())).toEqual(r);
      }),
    );
  });

  it('transfers move exactly the span and bump versions so the change wins merges', () => {
    const a = peerOwner(1);
    const b = peerOwner(2);
    const r0 = initialRing(RANGE_START, RANGE_END, [a]);
    const r1 = transferSpan(r0, a, { start: RANGE_START + 1024, end: RANGE_START + 2048 }, b);
    expect(ringViolation(r1)).toBeNull();
    expect(ownedSpans(r1, b)).toEqual([{ start: RANGE_START + 1024, end: RANGE_START + 2048 }]);
    expect(spansTotal(ownedSpans(r1, a))).toBe(RANGE_SIZE - 1024);
    expect(join(r0, r1)).toEqual(r1);
    expect(() => transferSpan(r1, a, { start: RANGE_START + 1500, end: RANGE_START + 1600 }, a)).toThrow();
  });

  it('free-count updates bump only changed entries', () => {
    const a = peerOwner(1);
    const r0 = initialRing(RANGE_START, RANGE_END, [a, peerOwner(2)]);
    // a's initial entry is free except for the range's network address.
    expect(withFreeCounts(r0, a, (s, e) => e - s - 1)).toBe(r0);
    const r1 = withFreeCounts(r0, a, (s, e) => e - s - 3);
    expect(r1.entries[0]).toMatchObject({ version: 1, free: RANGE_SIZE / 2 - 3 });
    expect(r1.entries[1]).toEqual(r0.entries[1]);
  });

  it('two peers running rmpeer for the same dead peer produce identical rings (deterministic heir)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 3, max: 40 }), fc.integer({ min: 0, max: 39 }), (n, deadIdx) => {
        const owners = Array.from({ length: n }, (_, i) => peerOwner(i));
        const dead = owners[deadIdx % n]!;
        const r = initialRing(RANGE_START, RANGE_END, owners);
        const heirs = owners.filter((o) => o !== dead);
        // Both callers compute heirs the same way whoever they are.
        const byX = reassignOwner(r, dead, (t) => rendezvousHeir(t, heirs));
        const byY = reassignOwner(r, dead, (t) => rendezvousHeir(t, [...heirs].reverse()));
        expect(byX).toEqual(byY);
        expect(join(byX, byY)).toEqual(byX);
        expect(ownedSpans(byX, dead)).toEqual([]);
        expect(byX.dead).toContain(dead);
        for (const e of byX.entries) expect(heirs).toContain(e.owner);
      }),
    );
  });

  it('ownerAt finds the owner of any address by binary search', () => {
    fc.assert(
      fc.property(ringArb(), fc.integer({ min: RANGE_START, max: RANGE_END - 1 }), (r, addr) => {
        const linear = [...r.entries].reverse().find((e) => e.token <= addr)!.owner;
        expect(ownerAt(r, addr)).toBe(linear);
      }),
    );
    const r = initialRing(RANGE_START, RANGE_END, [peerOwner(1)]);
    expect(ownerAt(r, RANGE_END)).toBeUndefined();
    expect(ownerAt(r, RANGE_START - 1)).toBeUndefined();
  });

  it('ring identity depends on the range and the set of initial owners only', () => {
    const a = ownerId('a', 1);
    const b = ownerId('b', 2);
    expect(computeRingId(1, 9, [a, b])).toBe(computeRingId(1, 9, [b, a]));
    expect(computeRingId(1, 9, [a, b])).not.toBe(computeRingId(1, 9, [a]));
    expect(computeRingId(1, 9, [a])).not.toBe(computeRingId(1, 17, [a]));
  });
});
