/**
 * An in-memory KernelNet for pure tests of the code that programs the kernel
 * (the CNI plan executor, the fastdp programmer). It models the behaviour
 * those callers depend on, and the same compliance suite that the netlink
 * adapter passes against the real kernel keeps it honest:
 *
 *   - several namespaces (`world.createNamespace`), veth pairs across them;
 *   - EEXIST / ENODEV / ERANGE / EADDRNOTAVAIL / ESRCH / ENOENT where the
 *     kernel returns them; bridges cannot change namespace;
 *   - addresses add their prefix route while the link is up, and routes
 *     through a link vanish when it goes down or is deleted;
 *   - routes need an up device (ENETDOWN) and a reachable gateway (ENETUNREACH);
 *   - static neighbour (ARP) entries, replaced per (link, ip);
 *   - VXLAN self FDB entries (replace / create / append, permanent only) and
 *     bridge master entries on ports;
 *   - sysctls as a map (keys of missing interfaces are ENOENT).
 *
 * Not modelled: MAC learning, operstate beyond veth carrier, IPv6, tables
 * other than the one asked for, link-local multicast FDB entries.
 *
 * Every call is recorded in `world.calls`; `world.failNext(method, errno)`
 * makes the next call of a method fail, to test callers' error paths.
 */
import { cidrContains, formatIp, mustParseCidr, mustParseIp, prefixMask } from '../../common/ip.js';
import { kernelErrno } from './kernel-errors.js';
import {
  type AddAddressOptions,
  type AddressInfo,
  type BridgePortChange,
  type CreateLinkOptions,
  type FdbAddMode,
  type FdbEntry,
  type FdbInfo,
  type KernelNet,
  type Link,
  type LinkChange,
  type LinkRef,
  MAIN_TABLE,
  type NeighborEntry,
  type NeighborInfo,
  type NetnsRef,
  type RouteInfo,
  type RouteSpec,
  RTPROT_KERNEL,
  RTPROT_STATIC,
  type VethPeer,
  type VxlanOptions,
} from './kernel-net.js';
import { isMac, normalizeMac } from './mac.js';
import { defaultFdbState } from './rtnl-fdb.js';
import { defaultScope } from './rtnl-route.js';
import { sysctlRelPath } from './sysctl.js';

interface FakeLink extends Link {
  /** For a veth: where its peer lives. */
  peer?: { ns: FakeNamespace; index: number };
}

interface FakeNamespace {
  name: string;
  ref: NetnsRef;
  links: Map<number, FakeLink>;
  nextIndex: number;
  addresses: AddressInfo[];
  routes: RouteInfo[];
  fdb: FdbInfo[];
  neighbors: NeighborInfo[];
  sysctls: Map<string, string>;
  /** "index cidr" of addresses whose prefix route the kernel maintains (not added with noPrefixRoute). */
  prefixRoutes: Set<string>;
}

export interface FakeCall {
  ns: string;
  method: string;
  args: unknown[];
}

const DEFAULT_SYSCTLS: Record<string, string> = {
  'net/ipv4/ip_forward': '0',
  'net/ipv4/conf/all/forwarding': '0',
  'net/ipv4/conf/all/rp_filter': '0',
  'net/bridge/bridge-nf-call-iptables': '0',
};
const PER_LINK_SYSCTLS = ['forwarding', 'rp_filter', 'proxy_arp', 'arp_notify', 'accept_local'];

export class FakeKernelWorld {
  readonly calls: FakeCall[] = [];
  private readonly byFd = new Map<number, FakeNamespace>();
  private readonly failures = new Map<string, string[]>();
  private nextFd = 1000;
  private nextMac = 1;

  /** A namespace with only `lo` (127.0.0.1/8), and a KernelNet on it. */
  createNamespace(name: string): { ref: NetnsRef; kernel: KernelNet } {
    const ref: NetnsRef = { fd: this.nextFd++, path: `fake:${name}` };
    const ns: FakeNamespace = {
      name,
      ref,
      links: new Map(),
      nextIndex: 2,
      addresses: [{ index: 1, cidr: '127.0.0.1/8', label: 'lo' }],
      routes: [],
      fdb: [],
      neighbors: [],
      sysctls: new Map(Object.entries(DEFAULT_SYSCTLS)),
      prefixRoutes: new Set(),
    };
    ns.links.set(1, {
      index: 1,
      name: 'lo',
      mtu: 65536,
      mac: '00:00:00:00:00:00',
      up: true,
      operState: 'unknown',
    });
    this.byFd.set(ref.fd, ns);
    return { ref, kernel: this.kernel(ref) };
  }

  /** Another KernelNet on an existing fake namespace. */
  kernel(ref: NetnsRef): KernelNet {
    return new FakeKernelNet(this, this.namespace(ref));
  }

  /** The next call of `method` (a KernelNet method name) fails with `errno`. */
  failNext(method: keyof KernelNet, errno: string): void {
    const list = this.failures.get(method) ?? [];
    list.push(errno);
    this.failures.set(method, list);
  }

  /** @internal */
  namespace(ref: NetnsRef): FakeNamespace {
    const ns = this.byFd.get(ref.fd);
    if (!ns) throw kernelErrno('setns', 'EBADF', { fd: ref.fd });
    return ns;
  }

  /** @internal */
  enter(ns: FakeNamespace, method: string, args: unknown[]): void {
    this.calls.push({ ns: ns.name, method, args });
    const errno = this.failures.get(method)?.shift();
    if (errno) throw kernelErrno(method, errno, { injected: true });
  }

  /** @internal */
  newMac(): string {
    const n = this.nextMac++;
    return `02:fa:00:00:${((n >> 8) & 255).toString(16).padStart(2, '0')}:${(n & 255).toString(16).padStart(2, '0')}`;
  }
}

function validName(op: string, name: string): void {
  if (Buffer.byteLength(name) > 15) throw kernelErrno(op, 'ERANGE', { link: name });
  if (name.length === 0 || /[/\s:]/.test(name) || name === '.' || name === '..') {
    throw kernelErrno(op, 'EINVAL', { link: name });
  }
}

class FakeKernelNet implements KernelNet {
  constructor(
    private readonly world: FakeKernelWorld,
    private readonly ns: FakeNamespace,
  ) {}

  get netns(): NetnsRef {
    return this.ns.ref;
  }

  close(): void {}

  private op(method: string, ...args: unknown[]): void {
    this.world.enter(this.ns, method, args);
  }

  private find(ref: LinkRef): FakeLink | undefined {
    if (typeof ref === 'number') return this.ns.links.get(ref);
    for (const l of this.ns.links.values()) if (l.name === ref) return l;
    return undefined;
  }

  private must(ref: LinkRef, op: string): FakeLink {
    const l = this.find(ref);
    if (!l) throw kernelErrno(op, 'ENODEV', { link: ref });
    return l;
  }

  private snapshot(l: FakeLink): Link {
    const { peer, ...link } = l;
    const out: Link = structuredClone(link);
    if (peer) {
      const p = peer.ns.links.get(peer.index);
      out.operState = l.up && p?.up ? 'up' : l.up ? 'lowerlayerdown' : 'down';
    }
    return out;
  }

  // ── links ────────────────────────────────────────────────────────────────

  async listLinks(): Promise<Link[]> {
    this.op('listLinks');
    return [...this.ns.links.values()].map((l) => this.snapshot(l));
  }

  async getLink(ref: LinkRef): Promise<Link | undefined> {
    this.op('getLink', ref);
    const l = this.find(ref);
    return l ? this.snapshot(l) : undefined;
  }

  private add(
    ns: FakeNamespace,
    op: string,
    name: string,
    init: Partial<FakeLink> & CreateLinkOptions,
  ): FakeLink {
    validName(op, name);
    if ([...ns.links.values()].some((l) => l.name === name)) throw kernelErrno(op, 'EEXIST', { link: name });
    if (init.mac !== undefined && !isMac(init.mac)) throw kernelErrno(op, 'EINVAL', { mac: init.mac });
    const { up, mac, mtu, ...rest } = init;
    const link: FakeLink = {
      index: ns.nextIndex++,
      name,
      mtu: mtu ?? 1500,
      mac: mac ? normalizeMac(mac) : this.world.newMac(),
      up: up ?? false,
      operState: up ? 'unknown' : 'down',
      ...rest,
    };
    ns.links.set(link.index, link);
    for (const k of PER_LINK_SYSCTLS) ns.sysctls.set(`net/ipv4/conf/${name}/${k}`, '0');
    return link;
  }

  async createBridge(name: string, opts: CreateLinkOptions = {}): Promise<Link> {
    this.op('createBridge', name, opts);
    return this.snapshot(this.add(this.ns, 'create bridge', name, { ...opts, kind: 'bridge' }));
  }

  async createVeth(name: string, peer: VethPeer, opts: CreateLinkOptions = {}): Promise<Link> {
    this.op('createVeth', name, peer, opts);
    const peerNs = peer.netns ? this.world.namespace(peer.netns) : this.ns;
    validName('create veth', peer.name);
    if (
      [...peerNs.links.values()].some((l) => l.name === peer.name) ||
      (peerNs === this.ns && peer.name === name)
    ) {
      throw kernelErrno('create veth', 'EEXIST', { link: peer.name });
    }
    const here = this.add(this.ns, 'create veth', name, { ...opts, kind: 'veth' });
    const { name: peerName, netns: _netns, ...peerOpts } = peer;
    const there = this.add(peerNs, 'create veth', peerName, { ...peerOpts, kind: 'veth' });
    here.peer = { ns: peerNs, index: there.index };
    here.peerIndex = there.index;
    there.peer = { ns: this.ns, index: here.index };
    there.peerIndex = here.index;
    return this.snapshot(here);
  }

  async createVxlan(name: string, opts: VxlanOptions): Promise<Link> {
    this.op('createVxlan', name, opts);
    const dev = opts.dev === undefined ? undefined : this.must(opts.dev, 'create vxlan').index;
    const vxlan: Link['vxlan'] = { vni: opts.vni, port: opts.port, learning: opts.learning ?? false };
    if (opts.local !== undefined) vxlan.local = formatIp(mustParseIp(opts.local));
    if (dev !== undefined) vxlan.devIndex = dev;
    const { vni: _v, port: _p, local: _l, learning: _g, dev: _d, ...common } = opts;
    return this.snapshot(this.add(this.ns, 'create vxlan', name, { ...common, kind: 'vxlan', vxlan }));
  }

  async setLink(ref: LinkRef, change: LinkChange): Promise<void> {
    this.op('setLink', ref, change);
    const l = this.must(ref, 'set link');
    if (change.name !== undefined && change.name !== l.name) {
      validName('set link', change.name);
      if (this.find(change.name)) throw kernelErrno('set link', 'EEXIST', { link: change.name });
    }
    if (change.mac !== undefined && !isMac(change.mac))
      throw kernelErrno('set link', 'EINVAL', { mac: change.mac });
    // Bridges are namespace-local (NETIF_F_NETNS_LOCAL).
    if (change.netns !== undefined && l.kind === 'bridge')
      throw kernelErrno('set link netns', 'EINVAL', { link: ref });
    let master: number | undefined | null;
    if (change.master !== undefined && change.master !== null) {
      const m = this.must(change.master, 'set link master');
      if (m.kind !== 'bridge' || m.index === l.index)
        throw kernelErrno('set link master', 'EOPNOTSUPP', { link: ref });
      master = m.index;
    } else if (change.master === null) master = null;
    // All checks passed: apply.
    if (change.name !== undefined && change.name !== l.name) this.rename(l, change.name);
    if (change.mtu !== undefined) l.mtu = change.mtu;
    if (change.mac !== undefined) l.mac = normalizeMac(change.mac);
    if (master === null) {
      delete l.masterIndex;
      delete l.bridgePort;
    } else if (master !== undefined) {
      l.masterIndex = master;
      l.bridgePort ??= { hairpin: false, learning: true };
    }
    if (change.up !== undefined && change.up !== l.up) {
      l.up = change.up;
      l.operState = l.up ? 'unknown' : 'down';
      if (l.up) this.addPrefixRoutes(l.index);
      else this.ns.routes = this.ns.routes.filter((r) => r.devIndex !== l.index);
    }
    if (change.netns !== undefined) this.move(l, this.world.namespace(change.netns));
  }

  private rename(l: FakeLink, name: string): void {
    for (const k of PER_LINK_SYSCTLS) {
      const v = this.ns.sysctls.get(`net/ipv4/conf/${l.name}/${k}`);
      this.ns.sysctls.delete(`net/ipv4/conf/${l.name}/${k}`);
      if (v !== undefined) this.ns.sysctls.set(`net/ipv4/conf/${name}/${k}`, v);
    }
    l.name = name;
    for (const a of this.ns.addresses) if (a.index === l.index) a.label = name;
  }

  /** Moving a link to another namespace takes it down and drops its addresses, as the kernel does. */
  private move(l: FakeLink, to: FakeNamespace): void {
    if (to === this.ns) return;
    if ([...to.links.values()].some((x) => x.name === l.name))
      throw kernelErrno('set link netns', 'EEXIST', { link: l.name });
    this.forget(l.index);
    const index = to.links.has(l.index) ? to.nextIndex++ : l.index;
    to.nextIndex = Math.max(to.nextIndex, index + 1);
    const moved: FakeLink = { ...l, index, up: false, operState: 'down' };
    delete moved.masterIndex;
    delete moved.bridgePort;
    to.links.set(index, moved);
    if (moved.peer) {
      const p = moved.peer.ns.links.get(moved.peer.index);
      if (p) {
        p.peer = { ns: to, index };
        p.peerIndex = index;
      }
    }
  }

  async setBridgePort(ref: LinkRef, change: BridgePortChange): Promise<void> {
    this.op('setBridgePort', ref, change);
    const l = this.must(ref, 'set bridge port');
    if (!l.bridgePort) throw kernelErrno('set bridge port', 'EOPNOTSUPP', { link: ref });
    if (change.hairpin !== undefined) l.bridgePort.hairpin = change.hairpin;
    if (change.learning !== undefined) l.bridgePort.learning = change.learning;
    for (const key of ['unicastFlood', 'multicastFlood', 'broadcastFlood', 'isolated'] as const) {
      if (change[key] !== undefined) l.bridgePort[key] = change[key];
    }
  }

  async deleteLink(ref: LinkRef, opts: { missingOk?: boolean } = {}): Promise<boolean> {
    this.op('deleteLink', ref, opts);
    const l = this.find(ref);
    if (!l) {
      if (opts.missingOk) return false;
      throw kernelErrno('delete link', 'ENODEV', { link: ref });
    }
    this.forget(l.index);
    if (l.peer) {
      const peerNet = new FakeKernelNet(this.world, l.peer.ns);
      peerNet.forget(l.peer.index);
    }
    return true;
  }

  /** Remove a link and everything that refers to it. */
  private forget(index: number): void {
    const l = this.ns.links.get(index);
    this.ns.links.delete(index);
    this.ns.addresses = this.ns.addresses.filter((a) => a.index !== index);
    for (const k of [...this.ns.prefixRoutes]) if (k.startsWith(`${index} `)) this.ns.prefixRoutes.delete(k);
    this.ns.routes = this.ns.routes.filter((r) => r.devIndex !== index);
    this.ns.fdb = this.ns.fdb.filter((e) => e.linkIndex !== index && e.masterIndex !== index);
    this.ns.neighbors = this.ns.neighbors.filter((n) => n.linkIndex !== index);
    for (const other of this.ns.links.values()) {
      if (other.masterIndex === index) {
        delete other.masterIndex;
        delete other.bridgePort;
      }
    }
    if (l) for (const k of PER_LINK_SYSCTLS) this.ns.sysctls.delete(`net/ipv4/conf/${l.name}/${k}`);
  }

  // ── addresses ────────────────────────────────────────────────────────────

  async listAddresses(link?: LinkRef): Promise<AddressInfo[]> {
    this.op('listAddresses', link);
    const index = link === undefined ? undefined : this.must(link, 'list addresses').index;
    return this.ns.addresses.filter((a) => index === undefined || a.index === index).map((a) => ({ ...a }));
  }

  async addAddress(link: LinkRef, cidr: string, opts: AddAddressOptions = {}): Promise<boolean> {
    this.op('addAddress', link, cidr, opts);
    const l = this.must(link, 'add address');
    const c = mustParseCidr(cidr, { host: true });
    const norm = `${formatIp(c.addr)}/${c.prefix}`;
    if (this.ns.addresses.some((a) => a.index === l.index && a.cidr === norm)) {
      if (opts.existOk) return false;
      throw kernelErrno('add address', 'EEXIST', { link, cidr });
    }
    this.ns.addresses.push({ index: l.index, cidr: norm, label: l.name });
    if (!opts.noPrefixRoute) this.ns.prefixRoutes.add(`${l.index} ${norm}`);
    if (l.up) this.addPrefixRoutes(l.index);
    return true;
  }

  private addPrefixRoutes(index: number): void {
    for (const a of this.ns.addresses) {
      if (a.index !== index || !this.ns.prefixRoutes.has(`${index} ${a.cidr}`)) continue;
      const c = mustParseCidr(a.cidr, { host: true });
      if (c.prefix === 32) continue;
      const dst = `${formatIp((c.addr & prefixMask(c.prefix)) >>> 0)}/${c.prefix}`;
      if (this.ns.routes.some((r) => r.dst === dst && r.devIndex === index && r.protocol === RTPROT_KERNEL))
        continue;
      this.ns.routes.push({
        dst,
        devIndex: index,
        scope: 'link',
        table: MAIN_TABLE,
        type: 'unicast',
        protocol: RTPROT_KERNEL,
        src: formatIp(c.addr),
      });
    }
  }

  async deleteAddress(link: LinkRef, cidr: string, opts: { missingOk?: boolean } = {}): Promise<boolean> {
    this.op('deleteAddress', link, cidr, opts);
    const l = this.must(link, 'delete address');
    const c = mustParseCidr(cidr, { host: true });
    const norm = `${formatIp(c.addr)}/${c.prefix}`;
    const i = this.ns.addresses.findIndex((a) => a.index === l.index && a.cidr === norm);
    if (i < 0) {
      if (opts.missingOk) return false;
      throw kernelErrno('delete address', 'EADDRNOTAVAIL', { link, cidr });
    }
    this.ns.addresses.splice(i, 1);
    this.ns.prefixRoutes.delete(`${l.index} ${norm}`);
    const src = formatIp(c.addr);
    this.ns.routes = this.ns.routes.filter(
      (r) => !(r.protocol === RTPROT_KERNEL && r.devIndex === l.index && r.src === src),
    );
    return true;
  }

  // ── routes ───────────────────────────────────────────────────────────────

  async listRoutes(opts: { table?: number } = {}): Promise<RouteInfo[]> {
    this.op('listRoutes', opts);
    const table = opts.table ?? MAIN_TABLE;
    return this.ns.routes.filter((r) => r.table === table).map((r) => ({ ...r }));
  }

  /** The up link a gateway is directly reachable through (a link-scope route covering it). */
  private gatewayLink(gateway: string, table: number): number | undefined {
    const gw = mustParseIp(gateway);
    const r = this.ns.routes.find(
      (x) =>
        x.table === table &&
        x.scope === 'link' &&
        x.devIndex !== undefined &&
        cidrContains(mustParseCidr(x.dst), gw),
    );
    return r?.devIndex;
  }

  private toInfo(route: RouteSpec, op: string): RouteInfo {
    const dst = mustParseCidr(route.dst);
    const table = route.table ?? MAIN_TABLE;
    let devIndex = route.dev === undefined ? undefined : this.must(route.dev, op).index;
    if (devIndex !== undefined && !this.ns.links.get(devIndex)!.up)
      throw kernelErrno(op, 'ENETDOWN', { route });
    if (route.gateway !== undefined) {
      const via = this.gatewayLink(route.gateway, table);
      if (via === undefined || (devIndex !== undefined && via !== devIndex)) {
        throw kernelErrno(op, 'ENETUNREACH', { route });
      }
      devIndex = via;
    }
    const type = route.type ?? 'unicast';
    if (devIndex === undefined && type === 'unicast') throw kernelErrno(op, 'EINVAL', { route });
    const info: RouteInfo = {
      dst: `${formatIp(dst.addr)}/${dst.prefix}`,
      scope: route.scope ?? defaultScope(route),
      table,
      type,
      protocol: route.protocol ?? RTPROT_STATIC,
    };
    if (route.gateway !== undefined) info.gateway = formatIp(mustParseIp(route.gateway));
    if (devIndex !== undefined) info.devIndex = devIndex;
    if (route.metric !== undefined) info.metric = route.metric;
    if (route.src !== undefined) info.src = route.src;
    return info;
  }

  /** Same destination, table and metric: the kernel's notion of "the same route". */
  private sameKey(a: RouteInfo, b: RouteInfo): boolean {
    return a.dst === b.dst && a.table === b.table && (a.metric ?? 0) === (b.metric ?? 0);
  }

  async addRoute(route: RouteSpec, opts: { replace?: boolean; existOk?: boolean } = {}): Promise<boolean> {
    this.op('addRoute', route, opts);
    const info = this.toInfo(route, 'add route');
    const i = this.ns.routes.findIndex((r) => this.sameKey(r, info));
    if (i >= 0) {
      if (opts.replace) {
        this.ns.routes[i] = info;
        return true;
      }
      if (opts.existOk) return false;
      throw kernelErrno('add route', 'EEXIST', { route });
    }
    this.ns.routes.push(info);
    return true;
  }

  async deleteRoute(route: RouteSpec, opts: { missingOk?: boolean } = {}): Promise<boolean> {
    this.op('deleteRoute', route, opts);
    const dst = mustParseCidr(route.dst);
    const dstS = `${formatIp(dst.addr)}/${dst.prefix}`;
    const table = route.table ?? MAIN_TABLE;
    const dev = route.dev === undefined ? undefined : this.find(route.dev)?.index;
    if (route.dev !== undefined && dev === undefined) {
      if (opts.missingOk) return false;
      throw kernelErrno('delete route', 'ENODEV', { route });
    }
    const i = this.ns.routes.findIndex(
      (r) =>
        r.dst === dstS &&
        r.table === table &&
        (dev === undefined || r.devIndex === dev) &&
        (route.gateway === undefined || r.gateway === route.gateway) &&
        (route.metric === undefined || (r.metric ?? 0) === route.metric) &&
        (route.protocol === undefined || r.protocol === route.protocol),
    );
    if (i < 0) {
      if (opts.missingOk) return false;
      throw kernelErrno('delete route', 'ESRCH', { route });
    }
    this.ns.routes.splice(i, 1);
    return true;
  }

  // ── forwarding database ──────────────────────────────────────────────────

  async listFdb(opts: { link?: LinkRef; where?: 'self' | 'master' } = {}): Promise<FdbInfo[]> {
    this.op('listFdb', opts);
    const index = opts.link === undefined ? undefined : this.must(opts.link, 'list fdb').index;
    return this.ns.fdb
      .filter(
        (e) => (index === undefined || e.linkIndex === index) && (!opts.where || e.where === opts.where),
      )
      .map((e) => ({ ...e }));
  }

  private fdbInfo(l: FakeLink, entry: FdbEntry, op: string): FdbInfo {
    if (!isMac(entry.mac)) throw kernelErrno(op, 'EINVAL', { mac: entry.mac });
    const state = defaultFdbState(entry);
    const info: FdbInfo = { linkIndex: l.index, mac: normalizeMac(entry.mac), where: entry.where, state };
    if (entry.where === 'master') {
      if (l.masterIndex === undefined)
        throw kernelErrno(op, 'EINVAL', { link: entry.link, note: 'not a bridge port' });
      info.masterIndex = l.masterIndex;
    } else if (l.kind === 'vxlan' && state !== 'permanent') {
      throw kernelErrno(op, 'EINVAL', { note: 'VXLAN entries must be permanent' });
    }
    if (entry.dst !== undefined) info.dst = formatIp(mustParseIp(entry.dst));
    if (entry.port !== undefined) info.port = entry.port;
    if (entry.vni !== undefined) info.vni = entry.vni;
    return info;
  }

  async addFdb(entry: FdbEntry, opts: { mode?: FdbAddMode } = {}): Promise<void> {
    this.op('addFdb', entry, opts);
    const l = this.must(entry.link, 'add fdb');
    const info = this.fdbInfo(l, entry, 'add fdb');
    const sameMac = (e: FdbInfo) => e.linkIndex === l.index && e.where === info.where && e.mac === info.mac;
    const mode = opts.mode ?? 'replace';
    if (mode === 'append') {
      if (!this.ns.fdb.some((e) => sameMac(e) && e.dst === info.dst)) this.ns.fdb.push(info);
      return;
    }
    const i = this.ns.fdb.findIndex(sameMac);
    if (i < 0) this.ns.fdb.push(info);
    else if (mode === 'create') throw kernelErrno('add fdb', 'EEXIST', { mac: entry.mac });
    else this.ns.fdb[i] = info;
  }

  async deleteFdb(entry: FdbEntry, opts: { missingOk?: boolean } = {}): Promise<boolean> {
    this.op('deleteFdb', entry, opts);
    const l = this.must(entry.link, 'delete fdb');
    const mac = normalizeMac(entry.mac);
    const i = this.ns.fdb.findIndex(
      (e) =>
        e.linkIndex === l.index &&
        e.where === entry.where &&
        e.mac === mac &&
        (entry.dst === undefined || e.dst === entry.dst),
    );
    if (i < 0) {
      if (opts.missingOk) return false;
      throw kernelErrno('delete fdb', 'ENOENT', { mac: entry.mac });
    }
    this.ns.fdb.splice(i, 1);
    return true;
  }

  // ── neighbours ───────────────────────────────────────────────────────────

  async listNeighbors(link?: LinkRef): Promise<NeighborInfo[]> {
    this.op('listNeighbors', link);
    const index = link === undefined ? undefined : this.must(link, 'list neighbours').index;
    return this.ns.neighbors
      .filter((n) => index === undefined || n.linkIndex === index)
      .map((n) => ({ ...n }));
  }

  async setNeighbor(entry: NeighborEntry): Promise<void> {
    this.op('setNeighbor', entry);
    const l = this.must(entry.link, 'set neighbour');
    if (!isMac(entry.mac)) throw kernelErrno('set neighbour', 'EINVAL', { mac: entry.mac });
    const ip = formatIp(mustParseIp(entry.ip));
    const info: NeighborInfo = {
      linkIndex: l.index,
      ip,
      mac: normalizeMac(entry.mac),
      state: entry.state ?? 'permanent',
    };
    const i = this.ns.neighbors.findIndex((n) => n.linkIndex === l.index && n.ip === ip);
    if (i < 0) this.ns.neighbors.push(info);
    else this.ns.neighbors[i] = info;
  }

  async deleteNeighbor(
    entry: Pick<NeighborEntry, 'link' | 'ip'>,
    opts: { missingOk?: boolean } = {},
  ): Promise<boolean> {
    this.op('deleteNeighbor', entry, opts);
    const l = this.must(entry.link, 'delete neighbour');
    const ip = formatIp(mustParseIp(entry.ip));
    const i = this.ns.neighbors.findIndex((n) => n.linkIndex === l.index && n.ip === ip);
    if (i < 0) {
      if (opts.missingOk) return false;
      throw kernelErrno('delete neighbour', 'ENOENT', { ...entry });
    }
    this.ns.neighbors.splice(i, 1);
    return true;
  }

  // ── sysctl ───────────────────────────────────────────────────────────────

  async getSysctl(key: string): Promise<string> {
    this.op('getSysctl', key);
    const v = this.ns.sysctls.get(sysctlRelPath(key));
    if (v === undefined) throw kernelErrno('read sysctl', 'ENOENT', { key });
    return v;
  }

  async setSysctl(key: string, value: string | number): Promise<void> {
    this.op('setSysctl', key, value);
    const rel = sysctlRelPath(key);
    const perLink = /^net\/ipv[46]\/conf\/([^/]+)\//.exec(rel);
    if (perLink && !['all', 'default'].includes(perLink[1]!) && !this.find(perLink[1]!)) {
      throw kernelErrno('write sysctl', 'ENOENT', { key });
    }
    this.ns.sysctls.set(rel, String(value).trim());
  }
}
