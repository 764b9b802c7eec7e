/**
 * fast-check generators shared by the IPAM tests: owner ids, valid rings over
 * one identity and range, and hostile mutations of them. (Imported only by
 * tests; kept out of *.test.ts so several test files can share it.)
 */
import fc from 'fast-check';
import { type OwnerId, ownerId } from './owner.js';
import { computeRingId, type Ring, type RingEntry } from './ring.js';

export const RANGE_START = 0x0a200000; // 10.32.0.0
export const RANGE_SIZE = 1 << 12; // a /20 keeps generated tokens dense enough to collide
export const RANGE_END = RANGE_START + RANGE_SIZE;
export const RING_ID = computeRingId(RANGE_START, RANGE_END, ['seed/00000000']);

export function peerOwner(i: number): OwnerId {
  return ownerId(`p${i}`, i + 1);
}

export const ownerArb = (peers = 100): fc.Arbitrary<OwnerId> =>
  fc.integer({ min: 0, max: peers - 1 }).map(peerOwner);

const entryFieldsArb = (peers: number) =>
  fc.record({
    owner: ownerArb(peers),
    version: fc.integer({ min: 0, max: 20 }),
    free: fc.integer({ min: 0, max: RANGE_SIZE }),
  });

/** A valid ring of the shared identity: tokens drawn from a small pool so different rings share tokens. */
export const ringArb = (peers = 100, maxEntries = 40): fc.Arbitrary<Ring> =>
  fc
    .record({
      tokens: fc.uniqueArray(fc.integer({ min: 1, max: 63 }), { maxLength: maxEntries - 1 }),
      fields: fc.array(entryFieldsArb(peers), { minLength: maxEntries, maxLength: maxEntries }),
      dead: fc.uniqueArray(ownerArb(peers), { maxLength: 5 }),
      leftMask: fc.array(fc.boolean(), { minLength: 5, maxLength: 5 }),
    })
    .map(({ tokens, fields, dead, leftMask }) => {
      const all = [0, ...tokens.sort((a, b) => a - b)].map((t) => RANGE_START + t * (RANGE_SIZE / 64));
      const entries: RingEntry[] = all.map((token, i) => ({ token, ...fields[i]! }));
      const sortedDead = dead.sort();
      const left = sortedDead.filter((_, i) => leftMask[i]);
      return { id: RING_ID, start: RANGE_START, end: RANGE_END, entries, dead: sortedDead, left };
    });

/** Ways to make a valid ring invalid or hostile. */
export const hostileMutationArb: fc.Arbitrary<(r: Ring) => Ring> = fc.oneof(
  fc.constant((r: Ring) => ({
    ...r,
    entries: [r.entries[0]!, { ...r.entries[0]!, token: r.end - 1 }, { ...r.entries[0]!, token: r.end - 2 }],
  })),
  fc.constant((r: Ring) => ({ ...r, entries: [...r.entries, r.entries[0]!] })),
  fc.constant((r: Ring) => ({ ...r, entries: r.entries.slice(1) })),
  fc.constant((r: Ring) => ({ ...r, entries: [] })),
  fc.constant((r: Ring) => ({ ...r, entries: [...r.entries, { ...r.entries[0]!, token: r.end }] })),
  fc.constant((r: Ring) => ({
    ...r,
    entries: r.entries.map((e, i) => (i === 0 ? { ...e, token: r.start - 1 } : e)),
  })),
  fc.constant((r: Ring) => ({ ...r, entries: r.entries.map((e) => ({ ...e, version: -1 })) })),
  fc.constant((r: Ring) => ({ ...r, entries: r.entries.map((e) => ({ ...e, version: Number.NaN })) })),
  fc.constant((r: Ring) => ({ ...r, entries: r.entries.map((e) => ({ ...e, free: -5 })) })),
  fc.constant((r: Ring) => ({ ...r, entries: r.entries.map((e) => ({ ...e, free: 0.5 })) })),
  fc.constant((r: Ring) => ({ ...r, entries: r.entries.map((e) => ({ ...e, owner: 'not an owner' })) })),
  fc.constant((r: Ring) => ({ ...r, entries: r.entries.map((e) => ({ ...e, owner: '__proto__' })) })),
  fc.constant((r: Ring) => ({ ...r, dead: ['zz/00000001', 'aa/00000001'] })),
  fc.constant((r: Ring) => ({ ...r, left: [...r.left, 'zz/0000ffff'] })),
  fc.constant((r: Ring) => ({ ...r, id: 'not-hex' })),
  fc.constant((r: Ring) => ({ ...r, id: computeRingId(r.start, r.end, ['other/00000001']) })),
  fc.constant((r: Ring) => ({ ...r, end: r.end * 2 })),
  fc.constant((r: Ring) => ({ ...r, start: r.end })),
);
