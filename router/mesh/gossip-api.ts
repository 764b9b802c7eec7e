/**
 * The seam between the mesh and whatever rides on it (the IPAM ring, DNS, the
 * data plane's MAC table). A subsystem registers a named channel and gets a
 * `GossipSender`; the mesh calls its `Gossiper` when gossip arrives. Payloads
 * are opaque bytes to the mesh: each subsystem owns its encoding and must
 * decode defensively (they come from the network).
 *
 * Semantics (as in Weave's mesh, see docs/architecture.md):
 * - unicast: delivered once to `dst`, relayed along unicast routes.
 * - broadcast: delivered to every reachable peer once, along broadcast routes.
 * - gossip: full or delta state, sent to a random subset of neighbours
 *   periodically and to every newly connected peer; receivers merge it and
 *   return what was new to them, which the mesh then passes on.
 */

/** 48-bit peer name in MAC notation, lower case: "aa:bb:cc:dd:ee:ff". */
export type PeerName = string;

export interface Gossiper {
  /** A unicast message addressed to us. Must not throw on malformed input. */
  onGossipUnicast(src: PeerName, msg: Uint8Array): void;
  /**
   * A broadcast from `src`. Returns the part of it that was new to us (to relay
   * further), or null if nothing was new. The mesh relays along `src`'s
   * broadcast tree regardless of the return value when `relayAlways` is set on
   * the channel; otherwise only non-null results are relayed.
   */
  onGossipBroadcast(src: PeerName, update: Uint8Array): Uint8Array | null;
  /** Our full state, or null if we have none yet. */
  gossip(): Uint8Array | null;
  /**
   * Gossip (full or partial state) from a neighbour. Returns what was new to us, or null.
   * (The mesh also passes the neighbour's name as a second argument, for channels that want to answer it.)
   */
  onGossip(update: Uint8Array): Uint8Array | null;
}

/** Per-channel options (all optional; added after the first version of this seam). */
export interface ChannelOptions {
  /** Relay broadcasts along the tree even when `onGossipBroadcast` returns null (e.g. consensus rounds). */
  relayAlways?: boolean;
  /** Include the channel in the periodic full-state rounds (default true). */
  periodic?: boolean;
}

export interface GossipSender {
  unicast(dst: PeerName, msg: Uint8Array): void;
  broadcast(update: Uint8Array): void;
  /** Send to a random subset of neighbours now (instead of waiting for the periodic round). */
  gossipNeighbourSubset(update: Uint8Array): void;
}

export interface GossipRegistry {
  /** Channel names: [a-z0-9][a-z0-9._-]{0,31}; "topology" is the mesh's own. */
  registerChannel(name: string, gossiper: Gossiper, opts?: ChannelOptions): GossipSender;
}
