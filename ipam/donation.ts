/**
 * Moving space between peers when one runs out: whom to ask (weighted random
 * among reachable owners that report free space in the subnet) and what a
 * donor gives (half of its largest free CIDR-aligned block there, so shares
 * stay aligned and the donor keeps some).
 */
import { type Cidr, cidrNetwork, cidrSize } from '../common/ip.js';
import type { Random } from '../common/random.js';
import type { AddressBook } from './address-book.js';
import type { OwnerId } from './owner.js';
import { effectiveFree, entryEnd, isDead, type Ring } from './ring.js';
import { largestAlignedBlock, type Span } from './span.js';

export type DonorChoice =
  | { kind: 'donor'; owner: OwnerId }
  /** Only unreachable or recently refusing owners report space: wait and retry. */
  | { kind: 'wait' }
  /** Nobody reports free space in the subnet. */
  | { kind: 'none' };

export interface DonorFilter {
  reachable(owner: OwnerId): boolean;
  /** Did not answer lately: its space counts, but ask someone else for now. */
  backedOff(owner: OwnerId): boolean;
  /** Said lately it has nothing in this subnet: its reported space does not count. */
  refused(owner: OwnerId): boolean;
  random: Random;
}

/** Each owner's estimated free addresses inside `subnet` (free counts are per entry; assume them spread evenly). */
export function freeBySubnet(ring: Ring, subnet: Cidr, exclude: OwnerId): Map<OwnerId, number> {
  const lo = cidrNetwork(subnet);
  const hi = lo + cidrSize(subnet);
  const out = new Map<OwnerId, number>();
  for (let i = 0; i < ring.entries.length; i++) {
    const e = ring.entries[i]!;
    if (e.owner === exclude || isDead(ring, e.owner)) continue;
    const end = entryEnd(ring, i);
    const overlap = Math.min(end, hi) - Math.max(e.token, lo);
    if (overlap <= 0) continue;
    const free = effectiveFree(ring, i);
    if (free === 0) continue;
    out.set(e.owner, (out.get(e.owner) ?? 0) + (free * overlap) / (end - e.token));
  }
  return out;
}

export function chooseDonor(ring: Ring, subnet: Cidr, self: OwnerId, f: DonorFilter): DonorChoice {
  const free = [...freeBySubnet(ring, subnet, self)].filter(([o]) => !f.refused(o));
  const cands: Array<[OwnerId, number]> = [];
  let total = 0;
  for (const [owner, w] of free.sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
    if (!f.reachable(owner) || f.backedOff(owner)) continue;
    cands.push([owner, w]);
    total += w;
  }
  if (cands.length === 0) return free.length > 0 ? { kind: 'wait' } : { kind: 'none' };
  let x = f.random.next() * total;
  for (const [owner, w] of cands) {
    x -= w;
    if (x < 0) return { kind: 'donor', owner };
  }
  return { kind: 'donor', owner: cands[cands.length - 1]![0] };
}

/**
 * What we give to a peer asking for space in `subnet`: the upper half of our
 * largest free aligned block there (all of it if it is a single address), or
 * undefined if we have nothing to give. The subnet's network and broadcast
 * addresses count as used: giving them away would give nothing usable.
 */
export function donationSpan(mine: readonly Span[], subnet: Cidr, book: AddressBook): Span | undefined {
  const lo = cidrNetwork(subnet);
  const hi = lo + cidrSize(subnet);
  const reserved = subnet.prefix >= 31 ? [] : [lo, hi - 1];
  let best: Span | undefined;
  for (const s of mine) {
    const a = Math.max(s.start, lo);
    const b = Math.min(s.end, hi);
    if (a >= b) continue;
    for (const run of book.freeRuns(a, b)) {
      for (const piece of cutAt(run, reserved)) {
        const block = largestAlignedBlock(piece.start, piece.end);
        if (block && (!best || block.end - block.start > best.end - best.start)) best = block;
      }
    }
  }
  if (!best) return undefined;
  const size = best.end - best.start;
  return size >= 2 ? { start: best.start + size / 2, end: best.end } : best;
}

function cutAt(run: Span, points: readonly number[]): Span[] {
  let pieces = [run];
  for (const p of points) {
    pieces = pieces.flatMap((s) =>
      p >= s.start && p < s.end
        ? [
            { start: s.start, end: p },
            { start: p + 1, end: s.end },
          ].filter((x) => x.end > x.start)
        : [s],
    );
  }
  return pieces;
}
