/**
 * Bootstrap consensus: the peers started with `--ipalloc-init consensus=N`
 * agree on the set of initial ring owners with single-decree Paxos carried by
 * gossip (as Weave does, but with incarnation-qualified node ids and a
 * preferred proposer so that a big cluster does not start a proposal storm).
 *
 * Every participant publishes its own claims {promise, accepted, value}; only
 * the node itself ever changes them (versioned), so the gossiped map merges by
 * keeping each node's newest claims. Roles, all derived from the merged map:
 *
 *   proposer  p: sets its promise to a new ballot b=(round, p)       (phase 1a)
 *   acceptor  a: promises the highest ballot it sees                 (phase 1b:
 *                its published `accepted` travels with the promise)
 *   proposer  p: once a quorum shows promise == b, picks the value of the
 *                highest accepted ballot among them (or the set of nodes it
 *                knows) and accepts (b, value) itself                  (phase 2a)
 *   acceptor  a: accepts any (b, value) it sees with b ≥ its promise   (phase 2b)
 *   learner:     a quorum showing accepted == b decides value          (learn)
 *
 * A ballot's value is chosen only by the ballot's own proposer, so "accepted ==
 * b" identifies one value. Observers never publish claims: they neither vote
 * nor become owners. Pure functions; the allocator persists our own claims
 * before they are gossiped (an acceptor must not forget a promise).
 */
import type { OwnerId } from './owner.js';

export interface Ballot {
  readonly round: number;
  readonly node: OwnerId;
}

export interface NodeClaims {
  readonly version: number;
  /** The quorum this node was configured with (shown in status; mismatches are a config error). */
  readonly quorum: number;
  readonly promise: Ballot | null;
  readonly accepted: Ballot | null;
  /** Sorted owner ids; set exactly when `accepted` is. */
  readonly value: readonly OwnerId[] | null;
}

export type ClaimsMap = ReadonlyMap<OwnerId, NodeClaims>;

export const MAX_CONSENSUS_NODES = 4096;

export function quorumFor(n: number): number {
  return Math.floor(n / 2) + 1;
}

export function compareBallots(a: Ballot | null, b: Ballot | null): number {
  if (a === null || b === null) return (a === null ? 0 : 1) - (b === null ? 0 : 1);
  if (a.round !== b.round) return a.round - b.round;
  return a.node === b.node ? 0 : a.node < b.node ? -1 : 1;
}

function sameBallot(a: Ballot | null, b: Ballot | null): boolean {
  return compareBallots(a, b) === 0;
}

/** Total order on two claims of the same node: newer version wins; ties broken by content. */
function compareClaims(a: NodeClaims, b: NodeClaims): number {
  if (a.version !== b.version) return a.version - b.version;
  return (
    compareBallots(a.promise, b.promise) || compareBallots(a.accepted, b.accepted) || a.quorum - b.quorum
  );
}

export function initialClaims(quorum: number): NodeClaims {
  return { version: 1, quorum, promise: null, accepted: null, value: null };
}

/**
 * Keep each node's newest claims. Claims about `self` from elsewhere are
 * ignored: we are the only author of ours, and we persist them before anyone
 * can see them, so a "newer" copy can only be wrong.
 */
export function mergeClaims(
  local: ClaimsMap,
  incoming: ClaimsMap,
  self: OwnerId | null,
): { claims: Map<OwnerId, NodeClaims>; changed: boolean } {
  const out = new Map(local);
  let changed = false;
  for (const [node, c] of incoming) {
    if (node === self) continue;
    if (!out.has(node) && out.size >= MAX_CONSENSUS_NODES) continue;
    const mine = out.get(node);
    if (!mine || compareClaims(c, mine) > 0) {
      out.set(node, c);
      changed = true;
    }
  }
  return { claims: out, changed };
}

/** The highest round anyone has used. */
function maxRound(claims: ClaimsMap): number {
  let r = 0;
  for (const c of claims.values()) {
    r = Math.max(r, c.promise?.round ?? 0, c.accepted?.round ?? 0);
  }
  return r;
}

/** Phase 1a: `self` proposes a ballot higher than any seen. */
export function propose(claims: ClaimsMap, self: OwnerId): Map<OwnerId, NodeClaims> {
  const mine = claims.get(self);
  if (!mine) throw new RangeError('propose: not a participant');
  const out = new Map(claims);
  out.set(self, { ...mine, version: mine.version + 1, promise: { round: maxRound(claims) + 1, node: self } });
  return out;
}

/**
 * Everything `self` does in reaction to the merged claims (promise, phase 2a,
 * accept), repeated until nothing more changes. Returns the same map and
 * `changed: false` when there was nothing to do.
 */
export function respond(
  claims: ClaimsMap,
  self: OwnerId,
): { claims: Map<OwnerId, NodeClaims>; changed: boolean } {
  let out = new Map(claims);
  let changed = false;
  for (let guard = 0; guard < 4; guard++) {
    const mine = out.get(self);
    if (!mine) break;
    const next = step(out, self, mine);
    if (!next) break;
    out = new Map(out);
    out.set(self, { ...next, version: mine.version + 1 });
    changed = true;
  }
  return { claims: out, changed };
}

function step(claims: ClaimsMap, self: OwnerId, mine: NodeClaims): NodeClaims | null {
  // Phase 2b: accept the highest ballot we see accepted by its proposer's
  // followers, if we have not promised anything higher.
  let bestAccepted: { ballot: Ballot; value: readonly OwnerId[] } | null = null;
  let highestPromise: Ballot | null = mine.promise;
  for (const c of claims.values()) {
    if (c.accepted && c.value && compareBallots(c.accepted, bestAccepted?.ballot ?? null) > 0) {
      bestAccepted = { ballot: c.accepted, value: c.value };
    }
    if (compareBallots(c.promise, highestPromise) > 0) highestPromise = c.promise;
  }
  if (
    bestAccepted &&
    compareBallots(bestAccepted.ballot, mine.promise) >= 0 &&
    compareBallots(bestAccepted.ballot, mine.accepted) > 0
  ) {
    return {
      ...mine,
      promise: maxBallot(mine.promise, bestAccepted.ballot),
      accepted: bestAccepted.ballot,
      value: bestAccepted.value,
    };
  }
  // Phase 1b: promise the highest ballot anyone proposed.
  if (compareBallots(highestPromise, mine.promise) > 0) return { ...mine, promise: highestPromise };
  // Phase 2a: our own ballot has a quorum of promises and no value yet.
  const b = mine.promise;
  if (b && b.node === self && !sameBallot(mine.accepted, b)) {
    const promisers = [...claims.values()].filter((c) => sameBallot(c.promise, b));
    if (promisers.length >= mine.quorum) {
      let prior: { ballot: Ballot; value: readonly OwnerId[] } | null = null;
      for (const c of promisers) {
        if (c.accepted && c.value && compareBallots(c.accepted, prior?.ballot ?? null) > 0) {
          prior = { ballot: c.accepted, value: c.value };
        }
      }
      const value = prior ? prior.value : [...claims.keys()].sort();
      return { ...mine, accepted: b, value };
    }
  }
  return null;
}

function maxBallot(a: Ballot | null, b: Ballot): Ballot {
  return compareBallots(a, b) >= 0 ? a! : b;
}

/** The decided value: a quorum of nodes (by `quorum`) show the same accepted ballot. */
export function decided(claims: ClaimsMap, quorum: number): readonly OwnerId[] | null {
  const counts = new Map<string, { n: number; value: readonly OwnerId[] }>();
  for (const c of claims.values()) {
    if (!c.accepted || !c.value) continue;
    const key = `${c.accepted.round}|${c.accepted.node}`;
    const cur = counts.get(key) ?? { n: 0, value: c.value };
    cur.n++;
    counts.set(key, cur);
    if (cur.n >= quorum) return cur.value;
  }
  return null;
}

/** What status shows while we wait: who takes part, what they were told the quorum is, the best ballot. */
export function consensusSummary(claims: ClaimsMap): {
  participants: OwnerId[];
  quorums: number[];
  highestBallot: Ballot | null;
} {
  let highest: Ballot | null = null;
  for (const c of claims.values()) if (compareBallots(c.promise, highest) > 0) highest = c.promise;
  return {
    participants: [...claims.keys()].sort(),
    quorums: [...new Set([...claims.values()].map((c) => c.quorum))].sort((a, b) => a - b),
    highestBallot: highest,
  };
}
