/**
 * An in-process stand-in for the mesh's gossip channels, for service and API
 * tests: every peer registered on one `FakeMeshNet` can reach every other
 * (unless cut off); messages are delivered asynchronously (setImmediate), in
 * order, with the semantics of router/mesh/gossip-api.ts.
 */
import type { Gossiper, GossipSender, PeerName } from '../mesh/gossip-api.js';
import type { IpamMesh } from './service.js';

export class FakeMeshNet {
  readonly meshes = new Map<PeerName, FakeMesh>();
  private readonly cut = new Set<PeerName>();
  delivered = 0;

  join(name: PeerName): FakeMesh {
    const m = new FakeMesh(this, name);
    this.meshes.set(name, m);
    for (const other of this.meshes.values()) other.changed();
    return m;
  }

  /** Cut `name` off from everyone (or reconnect it). */
  isolate(name: PeerName, cut: boolean): void {
    if (cut) this.cut.add(name);
    else this.cut.delete(name);
    for (const m of this.meshes.values()) m.changed();
    if (!cut) this.exchangeFullState(name);
  }

  reachable(a: PeerName, b: PeerName): boolean {
    return a !== b && this.meshes.has(a) && this.meshes.has(b) && !this.cut.has(a) && !this.cut.has(b);
  }

  deliver(to: PeerName, from: PeerName, fn: (g: Gossiper) => Uint8Array | null | undefined): void {
    setImmediate(() => {
      if (!this.reachable(from, to)) return;
      const g = this.meshes.get(to)?.gossiper;
      if (!g) return;
      this.delivered++;
      const relay = fn(g);
      if (relay instanceof Uint8Array) {
        // What was new to `to` spreads on, as the mesh's gossip does.
        for (const o of this.meshes.keys())
          if (o !== from && this.reachable(to, o)) this.deliver(o, to, (h) => h.onGossip(relay));
      }
    });
  }

  private exchangeFullState(name: PeerName): void {
    for (const o of this.meshes.keys()) {
      if (!this.reachable(name, o)) continue;
      const a = this.meshes.get(name)?.gossiper?.gossip();
      if (a) this.deliver(o, name, (g) => g.onGossip(a));
      const b = this.meshes.get(o)?.gossiper?.gossip();
      if (b) this.deliver(name, o, (g) => g.onGossip(b));
    }
  }

  remove(name: PeerName): void {
    this.meshes.delete(name);
    for (const m of this.meshes.values()) m.changed();
  }
}

export class FakeMesh implements IpamMesh {
  gossiper: Gossiper | null = null;
  private readonly listeners: Array<(c: { added: PeerName[]; removed: PeerName[] }) => void> = [];

  constructor(
    private readonly net: FakeMeshNet,
    readonly name: PeerName,
  ) {}

  registerChannel(_name: string, gossiper: Gossiper): GossipSender {
    this.gossiper = gossiper;
    const net = this.net;
    const me = this.name;
    // A newly registered channel gets everyone's full state, and gives its own.
    setImmediate(() => {
      for (const o of net.meshes.keys()) {
        if (!net.reachable(me, o)) continue;
        const theirs = net.meshes.get(o)?.gossiper?.gossip();
        if (theirs) net.deliver(me, o, (g) => g.onGossip(theirs));
      }
    });
    return {
      unicast: (dst, msg) =>
        net.deliver(dst, me, (g) => {
          g.onGossipUnicast(me, msg);
          return undefined;
        }),
      broadcast: (update) => {
        for (const o of net.meshes.keys())
          if (net.reachable(me, o)) net.deliver(o, me, (g) => void g.onGossipBroadcast(me, update));
      },
      gossipNeighbourSubset: (update) => {
        for (const o of net.meshes.keys())
          if (net.reachable(me, o)) net.deliver(o, me, (g) => g.onGossip(update));
      },
    };
  }

  onPeersChanged(listener: (c: { added: PeerName[]; removed: PeerName[] }) => void): void {
    this.listeners.push(listener);
  }

  changed(): void {
    for (const l of this.listeners) l({ added: [], removed: [] });
  }

  peers(): Array<{ name: PeerName }> {
    return [...this.net.meshes.keys()]
      .filter((n) => n === this.name || this.net.reachable(this.name, n))
      .map((name) => ({ name }));
  }
}
