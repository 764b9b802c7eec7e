import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loadSleeveAddon } from './sleeve-native.js';

// The engine's MAC table (open addressing, backward-shift deletion) against a
// Map: any sequence of learning, lookups, peer removals and expiry agrees.
const addon = loadSleeveAddon();

type Op = [number, number, number, number];

function model(ops: Op[]): number[] {
  const m = new Map<number, { peer: number; seen: number }>();
  return ops.map(([op, key, peer, time]) => {
    switch (op) {
      case 0: {
        const e = m.get(key);
        m.set(key, { peer, seen: time });
        return e && e.peer === peer ? 0 : 1;
      }
      case 1:
        return m.get(key)?.peer ?? -1;
      case 2: {
        let n = 0;
        for (const [k, e] of m) if (e.peer === peer && m.delete(k)) n++;
        return n;
      }
      default: {
        let n = 0;
        for (const [k, e] of m) if (e.seen < time && m.delete(k)) n++;
        return n;
      }
    }
  });
}

/** The table's home slot of a key (mactable.c: Fibonacci hashing, top bits, 65536 slots). */
const slot = (k: number) => Number(((BigInt(k) * 0x9e3779b97f4a7c15n) & 0xffffffffffffffffn) >> 40n) & 0xffff;

/** Keys whose home slots are three neighbours (the last wrapping to 0), four per slot: long probe runs. */
function collidingKeys(): number[] {
  const perSlot = new Map<number, number[]>([
    [65534, []],
    [65535, []],
    [0, []],
  ]);
  for (let k = 1; [...perSlot.values()].some((l) => l.length < 4); k++) {
    const l = perSlot.get(slot(k));
    if (l && l.length < 4) l.push(k);
  }
  return [...perSlot.values()].flat();
}

describe('engine MAC table', () => {
  it('agrees with a Map on any sequence of operations', () => {
    // Keys that collide (and wrap around the table's end): probe runs and deletions inside them.
    const keys = collidingKeys();
    const key = fc.oneof(
      { weight: 4, arbitrary: fc.constantFrom(...keys) },
      { weight: 1, arbitrary: fc.nat(300) },
    );
    const op = fc.oneof(
      { weight: 5, arbitrary: fc.tuple(fc.constant(0), key, fc.integer({ min: 1, max: 4 }), fc.nat(100)) },
      { weight: 4, arbitrary: fc.tuple(fc.constant(1), key, fc.constant(0), fc.constant(0)) },
      {
        weight: 1,
        arbitrary: fc.tuple(fc.constant(2), fc.constant(0), fc.integer({ min: 1, max: 4 }), fc.constant(0)),
      },
      { weight: 1, arbitrary: fc.tuple(fc.constant(3), fc.constant(0), fc.constant(0), fc.nat(100)) },
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 400 }), (ops) => {
        expect(addon.macTableRun(ops as Op[])).toEqual(model(ops as Op[]));
      }),
      { numRuns: 400 },
    );
  });

  it('survives filling up: refuses beyond three quarters, keeps what it has', () => {
    const ops: Op[] = [];
    for (let i = 0; i < 50_000; i++) ops.push([0, i, 1, 0]);
    ops.push([1, 7, 0, 0], [1, 49_999, 0, 0]);
    const r = addon.macTableRun(ops);
    expect(r.slice(0, 49_152).every((x) => x === 1)).toBe(true);
    expect(r[49_152]).toBe(-1);
    expect(r.at(-2)).toBe(1);
    expect(r.at(-1)).toBe(-1);
  });
});
