/**
 * Small gossip channels for simulator tests: a grow-only set (a CRDT using
 * every part of the gossip API) and a recorder that counts what arrives.
 * Payloads are UTF-8 JSON arrays of strings; decoding is defensive.
 */
import type { Gossiper, GossipSender } from '../../router/mesh/gossip-api.js';
import type { MeshRouter } from '../../router/mesh/router.js';

const enc = new TextEncoder();
const dec = new TextDecoder();

function decodeSet(b: Uint8Array): string[] | null {
  try {
    const v = JSON.parse(dec.decode(b)) as unknown;
    return Array.isArray(v) && v.every((x) => typeof x === 'string') ? v : null;
  } catch {
    return null;
  }
}

export function encodeSet(items: Iterable<string>): Uint8Array {
  return enc.encode(JSON.stringify([...items].sort()));
}

/** Grow-only set: broadcast on add, merge on gossip, deltas passed on. */
export class GrowSet implements Gossiper {
  readonly items = new Set<string>();
  sender!: GossipSender;
  /** Unicasts received: "src:msg". */
  readonly unicasts: string[] = [];
  /** Broadcasts received, by "src:payload", with counts (duplicates would show as > 1). */
  readonly broadcasts = new Map<string, number>();

  static attach(router: MeshRouter, channel = 'gset'): GrowSet {
    const g = new GrowSet();
    g.sender = router.registerChannel(channel, g);
    return g;
  }

  add(item: string): void {
    if (this.items.has(item)) return;
    this.items.add(item);
    this.sender.broadcast(encodeSet([item]));
  }

  private merge(b: Uint8Array): Uint8Array | null {
    const v = decodeSet(b);
    if (!v) return null;
    const fresh = v.filter((x) => !this.items.has(x));
    for (const x of fresh) this.items.add(x);
    return fresh.length > 0 ? encodeSet(fresh) : null;
  }

  onGossipUnicast(src: string, msg: Uint8Array): void {
    this.unicasts.push(`${src}:${dec.decode(msg)}`);
  }

  onGossipBroadcast(src: string, update: Uint8Array): Uint8Array | null {
    const key = `${src}:${dec.decode(update)}`;
    this.broadcasts.set(key, (this.broadcasts.get(key) ?? 0) + 1);
    return this.merge(update);
  }

  gossip(): Uint8Array | null {
    return this.items.size > 0 ? encodeSet(this.items) : null;
  }

  onGossip(update: Uint8Array): Uint8Array | null {
    return this.merge(update);
  }
}
