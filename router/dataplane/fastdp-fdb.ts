/**
 * Which remote MACs the kernel forwards over fastdp (pure bookkeeping). A MAC
 * is pinned to the VXLAN port only when the peer it sits behind is a direct
 * connection whose fastdp path is healthy; everything else (unknown MACs,
 * MACs behind relayed or sleeve-only peers, broadcasts) reaches the sleeve
 * TAP by the bridge's normal forwarding. Inputs are what the engine learned
 * (or was told by a claim) and the path selectors' verdicts; the output is
 * the FDB changes that bring the kernel from the installed state to the
 * desired one:
 *
 *   add mac ip : VXLAN self entry mac → dst ip, plus a sticky static bridge
 *                entry mac → VXLAN port (sticky: a broadcast from that MAC
 *                arriving through the TAP must not move it)
 *   del mac ip : both entries removed (the bridge then floods to the TAP)
 */
import type { PeerName } from '../mesh/gossip-api.js';

export type FdbChange = { op: 'add'; mac: string; ip: string } | { op: 'del'; mac: string; ip: string };

export class FastdpFdb {
  private readonly macPeer = new Map<string, PeerName>();
  private readonly peerMacs = new Map<PeerName, Set<string>>();
  /** Peers whose fastdp path is healthy → their underlay address. */
  private readonly upPeers = new Map<PeerName, string>();
  /** What the kernel has: mac → VTEP address. */
  private readonly installed = new Map<string, string>();

  /** The engine learned (or was told) that mac is behind peer. */
  macLearned(mac: string, peer: PeerName): FdbChange[] {
    const old = this.macPeer.get(mac);
    if (old !== undefined) this.peerMacs.get(old)?.delete(mac);
    this.macPeer.set(mac, peer);
    let set = this.peerMacs.get(peer);
    if (!set) {
      set = new Set();
      this.peerMacs.set(peer, set);
    }
    set.add(mac);
    return this.sync([mac]);
  }

  macForgotten(mac: string): FdbChange[] {
    const peer = this.macPeer.get(mac);
    if (peer === undefined) return [];
    this.macPeer.delete(mac);
    this.peerMacs.get(peer)?.delete(mac);
    return this.sync([mac]);
  }

  /** The fastdp path to peer became healthy (ip: its underlay address) or not (null). */
  peerPath(peer: PeerName, ip: string | null): FdbChange[] {
    if (ip === null) this.upPeers.delete(peer);
    else this.upPeers.set(peer, ip);
    return this.sync([...(this.peerMacs.get(peer) ?? [])]);
  }

  /** The mesh forgot the peer: its MACs go with it. */
  peerForgotten(peer: PeerName): FdbChange[] {
    this.upPeers.delete(peer);
    const macs = [...(this.peerMacs.get(peer) ?? [])];
    this.peerMacs.delete(peer);
    for (const m of macs) this.macPeer.delete(m);
    return this.sync(macs);
  }

  /** mac → VTEP address as it should be installed. */
  desired(): Map<string, string> {
    const out = new Map<string, string>();
    for (const [mac, peer] of this.macPeer) {
      const ip = this.upPeers.get(peer);
      if (ip !== undefined) out.set(mac, ip);
    }
    return out;
  }

  /** mac → VTEP address as installed. */
  current(): ReadonlyMap<string, string> {
    return this.installed;
  }

  /** Everything, e.g. after the shell found the kernel's table differs (it reports what it holds). */
  resync(kernel: ReadonlyMap<string, string>): FdbChange[] {
    this.installed.clear();
    for (const [m, ip] of kernel) this.installed.set(m, ip);
    return this.sync([...new Set([...this.installed.keys(), ...this.macPeer.keys()])]);
  }

  private sync(macs: Iterable<string>): FdbChange[] {
    const out: FdbChange[] = [];
    for (const mac of macs) {
      const peer = this.macPeer.get(mac);
      const want = peer === undefined ? undefined : this.upPeers.get(peer);
      const have = this.installed.get(mac);
      if (want === have) continue;
      if (have !== undefined) out.push({ op: 'del', mac, ip: have });
      if (want !== undefined) out.push({ op: 'add', mac, ip: want });
      if (want === undefined) this.installed.delete(mac);
      else this.installed.set(mac, want);
    }
    return out;
  }
}
