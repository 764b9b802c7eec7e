/**
 * Who owns a range of the ring. A peer's name is stable across restarts (it is
 * derived from the machine and the data dir), but the addresses it handed out
 * are remembered only in its data dir. If the data dir is lost, the same name
 * comes back with no memory of which addresses are in use — and Weave's users
 * got duplicate IPs exactly there (#2610, #3793). So ring ownership is keyed by
 * an *incarnation* of the peer as well: a random 32-bit number created with the
 * IPAM state and persisted with it. A router that lost its state starts as a
 * new incarnation that owns nothing; the old incarnation's ranges stay reserved
 * (visible, removable with rmpeer) instead of being silently reused.
 *
 * OwnerId = "<peer name>/<incarnation as 8 hex digits>", e.g.
 * "02:00:00:00:00:01/1a2b3c4d". Incarnation 0 is reserved for rings built from
 * a seed list (every seed peer must build the same ring without talking).
 */
import type { Random } from '../common/random.js';

export type OwnerId = string;

export const SEED_INCARNATION = 0;

/** Peer names are opaque to IPAM (MAC notation in the daemon, short names in some tests). */
const PEER_NAME = /^[0-9A-Za-z:._-]{1,64}$/;
const OWNER_ID = /^([0-9A-Za-z:._-]{1,64})\/([0-9a-f]{8})$/;

export function isValidPeerName(name: string): boolean {
  return PEER_NAME.test(name);
}

export function ownerId(peer: string, incarnation: number): OwnerId {
  return `${peer}/${(incarnation >>> 0).toString(16).padStart(8, '0')}`;
}

export function isValidOwnerId(s: string): boolean {
  return OWNER_ID.test(s);
}

/** The peer name part of an owner id. */
export function ownerPeer(id: OwnerId): string {
  const slash = id.lastIndexOf('/');
  return slash < 0 ? id : id.slice(0, slash);
}

export function ownerIncarnation(id: OwnerId): number {
  const slash = id.lastIndexOf('/');
  return Number.parseInt(id.slice(slash + 1), 16);
}

/** A fresh incarnation: random, never the seed incarnation. */
export function newIncarnation(random: Random): number {
  for (;;) {
    const b = random.bytes(4);
    const n = ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;
    if (n !== SEED_INCARNATION) return n;
  }
}
