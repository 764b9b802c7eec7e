/**
 * The address ring: a CRDT saying which peer owns which part of the allocation
 * range [start, end). Pure data and pure functions — no clock, no I/O.
 *
 *   start                                                            end
 *     │ t0=start          │ t1                │ t2           │ t3      │
 *     ├── owner A, v3 ────┼── owner B, v0 ────┼── A, v5 ─────┼── C ────┤
 *
 * Each entry {token, owner, version, free} owns [token, next token) (the last
 * one up to `end`). Tokens are never removed; an entry changes only when its
 * owner (or, for a proven-dead owner, rmpeer) bumps its version. Merging two
 * rings is a per-token maximum (version, then owner, then free) plus the union
 * of the `dead` sets, so it is commutative, associative and idempotent.
 *
 * `free` is the owner's advisory count of unallocated addresses in its entry;
 * it is only used to choose whom to ask for space, and readers clamp it to the
 * entry's size (Weave asserted free ≤ size after merges and panicked when a
 * concurrent split made a range smaller: #1463, #3767).
 *
 * A ring has an identity `id`: a hash of the range and the initial owners. Two
 * rings bootstrapped separately have different ids and are never merged
 * (RING_CONFLICT), instead of colliding silently (Weave #1499, #3427).
 */
import { createHash } from 'node:crypto';
import { isValidOwnerId, type OwnerId } from './owner.js';
import { pushSpan, type Span, subtractSpans } from './span.js';

export interface RingEntry {
  readonly token: number;
  readonly owner: OwnerId;
  readonly version: number;
  readonly free: number;
}

export interface Ring {
  readonly id: string;
  readonly start: number;
  /** Exclusive; at most 2^32. */
  readonly end: number;
  /** Sorted by token; entries[0].token === start. */
  readonly entries: readonly RingEntry[];
  /** Owners proven gone (rmpeer'd, reset, or a lost incarnation), sorted. Grow-only. */
  readonly dead: readonly OwnerId[];
  /**
   * Owners that left cleanly (reset), sorted, grow-only, a subset of `dead`.
   * Their containers are gone, so space that still reaches them (a handover
   * racing with their own reset, Weave #1593) is re-homed by anyone, to the
   * same deterministic heirs. Lost incarnations are dead but not left: their
   * containers may still run, so their space waits for an explicit rmpeer.
   */
  readonly left: readonly OwnerId[];
}

export const MAX_RING_ENTRIES = 1 << 18;
export const MAX_DEAD_OWNERS = 1 << 16;
const MAX_VERSION = Number.MAX_SAFE_INTEGER;
const RING_ID = /^[0-9a-f]{16}$/;

/** The ring identity: the same range and initial owners give the same id everywhere. */
export function computeRingId(start: number, end: number, owners: readonly OwnerId[]): string {
  const h = createHash('sha256');
  h.update(`weft-ring-v1|${start}|${end}|${[...owners].sort().join(',')}`);
  return h.digest('hex').slice(0, 16);
}

export function entryEnd(r: Ring, i: number): number {
  return r.entries[i + 1]?.token ?? r.end;
}

export function entrySize(r: Ring, i: number): number {
  return entryEnd(r, i) - r.entries[i]!.token;
}

/** `free` as readers should use it: never more than the entry holds. */
export function effectiveFree(r: Ring, i: number): number {
  return Math.min(r.entries[i]!.free, entrySize(r, i));
}

/**
 * The reason `r` is not a valid ring, or null. Checked on every ring that
 * arrives from the network and after every merge and local change.
 */
export function ringViolation(r: Ring): string | null {
  if (!RING_ID.test(r.id)) return 'bad ring id';
  if (!Number.isInteger(r.start) || !Number.isInteger(r.end)) return 'range bounds not integers';
  if (r.start < 0 || r.end > 2 ** 32 || r.start >= r.end) return 'empty or out-of-bounds range';
  const n = r.entries.length;
  if (n === 0) return 'no entries';
  if (n > MAX_RING_ENTRIES) return 'too many entries';
  if (r.entries[0]!.token !== r.start) return 'first token is not the range start';
  let prev = -1;
  for (const e of r.entries) {
    if (!Number.isInteger(e.token) || e.token < r.start || e.token >= r.end)
      return `token ${e.token} out of range`;
    if (e.token <= prev) return `tokens not strictly increasing at ${e.token}`;
    prev = e.token;
    if (!Number.isInteger(e.version) || e.version < 0 || e.version > MAX_VERSION)
      return `bad version at ${e.token}`;
    if (!Number.isInteger(e.free) || e.free < 0 || e.free > 2 ** 32) return `bad free count at ${e.token}`;
    if (!isValidOwnerId(e.owner)) return `bad owner at ${e.token}`;
  }
  if (r.dead.length > MAX_DEAD_OWNERS) return 'too many dead owners';
  if (r.left.length > MAX_DEAD_OWNERS) return 'too many departed owners';
  for (const [list, what] of [
    [r.dead, 'dead'],
    [r.left, 'departed'],
  ] as const) {
    for (let i = 0; i < list.length; i++) {
      if (!isValidOwnerId(list[i]!)) return `bad ${what} owner`;
      if (i > 0 && list[i - 1]! >= list[i]!) return `${what} owners not sorted`;
    }
  }
  for (const o of r.left) if (!isDead(r, o)) return 'a departed owner is not dead';
  return null;
}

/** Total order on two versions of the same token: the larger one wins the merge. */
export function compareEntries(a: RingEntry, b: RingEntry): number {
  if (a.version !== b.version) return a.version - b.version;
  if (a.owner !== b.owner) return a.owner < b.owner ? -1 : 1;
  return a.free - b.free;
}

function sameEntry(a: RingEntry, b: RingEntry): boolean {
  return a.version === b.version && a.owner === b.owner && a.free === b.free;
}

function unionSorted(a: readonly string[], b: readonly string[]): { out: string[]; grew: boolean } {
  const out: string[] = [];
  let i = 0;
  let j = 0;
  let grew = false;
  while (i < a.length || j < b.length) {
    const x = a[i];
    const y = b[j];
    if (y === undefined || (x !== undefined && x < y)) {
      out.push(x!);
      i++;
    } else if (x === undefined || y < x) {
      out.push(y);
      j++;
      grew = true;
    } else {
      out.push(x);
      i++;
      j++;
    }
  }
  return { out, grew };
}

/**
 * The lattice join of two rings with the same identity and range: every token
 * of either, each at its winning version; the union of the dead sets.
 * `changed` says whether the result differs from `a`.
 */
export function joinRings(a: Ring, b: Ring): { ring: Ring; changed: boolean } {
  const entries: RingEntry[] = [];
  const ea = a.entries;
  const eb = b.entries;
  let i = 0;
  let j = 0;
  let changed = false;
  while (i < ea.length || j < eb.length) {
    const x = ea[i];
    const y = eb[j];
    if (y === undefined || (x !== undefined && x.token < y.token)) {
      entries.push(x!);
      i++;
    } else if (x === undefined || y.token < x.token) {
      entries.push(y);
      changed = true;
      j++;
    } else {
      if (compareEntries(y, x) > 0) {
        entries.push(y);
        if (!sameEntry(x, y)) changed = true;
      } else entries.push(x);
      i++;
      j++;
    }
  }
  const dead = unionSorted(a.dead, b.dead);
  const left = unionSorted(a.left, b.left);
  if (dead.grew || left.grew) changed = true;
  return { ring: { id: a.id, start: a.start, end: a.end, entries, dead: dead.out, left: left.out }, changed };
}

/** The parts of the range `owner` holds, coalesced, in order. */
export function ownedSpans(r: Ring, owner: OwnerId): Span[] {
  const out: Span[] = [];
  for (let i = 0; i < r.entries.length; i++) {
    if (r.entries[i]!.owner === owner) pushSpan(out, r.entries[i]!.token, entryEnd(r, i));
  }
  return out;
}

/** Index of the entry whose range contains `addr` (binary search), or -1 outside the range. */
export function entryIndexAt(r: Ring, addr: number): number {
  if (addr < r.start || addr >= r.end) return -1;
  let lo = 0;
  let hi = r.entries.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >>> 1;
    if (r.entries[mid]!.token <= addr) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

export function ownerAt(r: Ring, addr: number): OwnerId | undefined {
  const i = entryIndexAt(r, addr);
  return i < 0 ? undefined : r.entries[i]!.owner;
}

/** Distinct owners of at least one entry, sorted. */
export function ringOwners(r: Ring): OwnerId[] {
  return [...new Set(r.entries.map((e) => e.owner))].sort();
}

function sortedHas(list: readonly string[], x: string): boolean {
  let lo = 0;
  let hi = list.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const d = list[mid]!;
    if (d === x) return true;
    if (d < x) lo = mid + 1;
    else hi = mid - 1;
  }
  return false;
}

export function isDead(r: Ring, owner: OwnerId): boolean {
  return sortedHas(r.dead, owner);
}

export function hasLeft(r: Ring, owner: OwnerId): boolean {
  return sortedHas(r.left, owner);
}

// ---------------------------------------------------------------------------
// Building and changing a ring. Every function returns a new ring.

/**
 * The initial ring for a sorted list of owners: the range cut into 2^k equal
 * CIDR-aligned blocks (2^k ≥ owners), handed out as contiguous runs so that
 * every owner gets one entry and shares differ by at most a factor of two.
 */
export function initialRing(start: number, end: number, owners: readonly OwnerId[]): Ring {
  const sorted = [...new Set(owners)].sort();
  if (sorted.length === 0) throw new RangeError('a ring needs at least one owner');
  const size = end - start;
  let blocks = 1;
  while (blocks < sorted.length && blocks < size) blocks *= 2;
  const blockSize = size / blocks;
  const n = Math.min(sorted.length, blocks);
  const entries: RingEntry[] = [];
  // The range's network and broadcast addresses are never free (allocators skip them).
  const reserved = size >= 4 ? 1 : 0;
  for (let i = 0; i < n; i++) {
    const first = Math.floor((i * blocks) / n);
    const last = Math.floor(((i + 1) * blocks) / n);
    entries.push({
      token: start + first * blockSize,
      owner: sorted[i]!,
      version: 0,
      free: (last - first) * blockSize - (i === 0 ? reserved : 0) - (i === n - 1 ? reserved : 0),
    });
  }
  return { id: computeRingId(start, end, sorted), start, end, entries, dead: [], left: [] };
}

/** Insert a token at `addr` (inside the range) if there is none; the new entry copies its container's owner. */
function splitAt(entries: RingEntry[], r: Ring, addr: number): void {
  if (addr >= r.end) return;
  const probe: Ring = { ...r, entries };
  const i = entryIndexAt(probe, addr);
  const e = entries[i]!;
  if (e.token === addr) return;
  entries.splice(i + 1, 0, { token: addr, owner: e.owner, version: e.version + 1, free: 0 });
}

/**
 * Give [span.start, span.end) — which `from` must own entirely — to `to`.
 * Inserts tokens at both ends when needed and bumps the version of every
 * entry that changes. Free counts of the given entries are their full size
 * (a donor only gives unallocated space); the donor re-reports its own.
 */
export function transferSpan(r: Ring, from: OwnerId, span: Span, to: OwnerId): Ring {
  const entries = r.entries.slice();
  splitAt(entries, r, span.start);
  splitAt(entries, r, span.end);
  const probe: Ring = { ...r, entries };
  for (let i = entryIndexAt(probe, span.start); i < entries.length && entries[i]!.token < span.end; i++) {
    const e = entries[i]!;
    if (e.owner !== from) throw new RangeError(`transferSpan: ${from} does not own ${e.token}`);
    entries[i] = { token: e.token, owner: to, version: e.version + 1, free: entryEnd(probe, i) - e.token };
  }
  return { ...r, entries };
}

/**
 * Hand every entry of `gone` to an heir chosen per entry by `heirFor` (or keep
 * it if there is none), and record `gone` as dead (and as departed when it
 * `left` cleanly). Used by rmpeer (for a peer proven gone), by reset (for
 * ourselves) and to re-home space that reached a departed owner.
 */
export function reassignOwner(
  r: Ring,
  gone: OwnerId,
  heirFor: (token: number) => OwnerId | undefined,
  opts: { left?: boolean; takeover?: boolean } = {},
): Ring {
  const entries = r.entries.map((e, i) => {
    if (e.owner !== gone) return e;
    const heir = heirFor(e.token);
    if (heir === undefined) return e;
    const version = opts.takeover ? takeoverVersion(e.version) : e.version + 1;
    return { token: e.token, owner: heir, version, free: entryEnd(r, i) - e.token };
  });
  const dead = unionSorted(r.dead, [gone]).out;
  const left = opts.left ? unionSorted(r.left, [gone]).out : r.left;
  return { ...r, entries, dead, left };
}

/**
 * Versions count within epochs of 2^32. An owner bumps the version by one;
 * taking over the entry of someone else (rmpeer, re-homing a departed owner's
 * space) starts the next epoch. The removed owner may have bumped its entries
 * where the taker could not see (a partition, a crash before gossip): a plain
 * +1 could lose to that hidden history when it resurfaces from its disk, a new
 * epoch cannot.
 */
export const VERSION_EPOCH = 2 ** 32;

export function takeoverVersion(v: number): number {
  return (Math.floor(v / VERSION_EPOCH) + 1) * VERSION_EPOCH;
}

/** Record owners as dead without moving anything (a lost incarnation of ourselves). */
export function markDead(r: Ring, owners: readonly OwnerId[]): Ring {
  const { out, grew } = unionSorted(r.dead, [...owners].sort());
  return grew ? { ...r, dead: out } : r;
}

/**
 * Update the free counts of `owner`'s entries from `freeIn(start, end)`,
 * bumping the version of each entry whose count changed. Returns the same
 * ring object when nothing changed.
 */
export function withFreeCounts(
  r: Ring,
  owner: OwnerId,
  freeIn: (start: number, end: number) => number,
): Ring {
  let entries: RingEntry[] | undefined;
  for (let i = 0; i < r.entries.length; i++) {
    const e = r.entries[i]!;
    if (e.owner !== owner) continue;
    const free = freeIn(e.token, entryEnd(r, i));
    if (free === e.free) continue;
    entries ??= r.entries.slice();
    entries[i] = { ...e, version: e.version + 1, free };
  }
  return entries ? { ...r, entries } : r;
}

// ---------------------------------------------------------------------------
// Merging a ring that arrived from a peer into ours, with our safety rules.

export type RingRejection =
  | { kind: 'invalid'; reason: string }
  | { kind: 'foreign'; reason: string; theirId: string; ourId: string }
  | { kind: 'takes-allocated'; reason: string; spans: Span[] };

export type MergeOutcome =
  | { kind: 'unchanged' }
  | {
      kind: 'updated';
      ring: Ring;
      /** Space that became ours. */
      gained: Span[];
      /** Space we no longer own (it held none of our allocations). */
      lost: Span[];
      /** The ring now lists `self` as dead: we were rmpeer'd; the allocator must start afresh. */
      selfRemoved: boolean;
    }
  | { kind: 'rejected'; rejection: RingRejection };

/**
 * Merge `incoming` into `local` as `self`. Rejected — with `local` untouched —
 * when the incoming ring is invalid, belongs to another ring identity or
 * range, or would take away a part of our space that holds allocations
 * (`allocatedIn(start, end)`). Space we hold without allocations may move (a
 * concurrent rmpeer tie-break); gaining space is always accepted.
 */
export function mergeRing(
  local: Ring,
  incoming: Ring,
  self: OwnerId,
  allocatedIn: (start: number, end: number) => boolean,
): MergeOutcome {
  const bad = ringViolation(incoming);
  if (bad) return { kind: 'rejected', rejection: { kind: 'invalid', reason: bad } };
  if (incoming.id !== local.id || incoming.start !== local.start || incoming.end !== local.end) {
    return {
      kind: 'rejected',
      rejection: {
        kind: 'foreign',
        reason:
          incoming.start !== local.start || incoming.end !== local.end
            ? 'the peer uses a different allocation range'
            : 'the peer belongs to a different ring (bootstrapped separately)',
        theirId: incoming.id,
        ourId: local.id,
      },
    };
  }
  const { ring, changed } = joinRings(local, incoming);
  if (!changed) return { kind: 'unchanged' };
  const after = ringViolation(ring);
  if (after) return { kind: 'rejected', rejection: { kind: 'invalid', reason: `merge result: ${after}` } };
  const before = ownedSpans(local, self);
  const now = ownedSpans(ring, self);
  const lost = subtractSpans(before, now);
  const gained = subtractSpans(now, before);
  if (isDead(ring, self)) return { kind: 'updated', ring, gained, lost, selfRemoved: true };
  const taken = lost.filter((s) => allocatedIn(s.start, s.end));
  if (taken.length > 0) {
    return {
      kind: 'rejected',
      rejection: {
        kind: 'takes-allocated',
        reason: 'the update takes away addresses we have allocated',
        spans: taken,
      },
    };
  }
  return { kind: 'updated', ring, gained, lost, selfRemoved: false };
}

/**
 * A deterministic heir for one token of a removed owner: rendezvous hashing
 * over the candidates, so that two peers running rmpeer for the same dead peer
 * with the same view of the ring produce identical entries (they merge to the
 * same result instead of two peers believing they own the same range).
 */
export function rendezvousHeir(token: number, candidates: readonly OwnerId[]): OwnerId | undefined {
  let best: OwnerId | undefined;
  let bestScore = -1;
  for (const c of candidates) {
    const score = fnv1a(`${token}|${c}`);
    if (score > bestScore || (score === bestScore && best !== undefined && c < best)) {
      best = c;
      bestScore = score;
    }
  }
  return best;
}

function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  // A final avalanche so that near-identical inputs spread.
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  return h >>> 0;
}
