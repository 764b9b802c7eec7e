/**
 * KernelNet over rtnetlink: each method is one (or, to resolve a name, two)
 * netlink round trips built by the pure codecs in rtnl-*.ts. No `ip` command.
 */
import { isExists, isNotFound, kernelCall, kernelErrno, kernelError } from './kernel-errors.js';
import type {
  AddAddressOptions,
  AddressInfo,
  BridgePortChange,
  CreateLinkOptions,
  FdbAddMode,
  FdbEntry,
  FdbInfo,
  KernelNet,
  Link,
  LinkChange,
  LinkRef,
  NeighborEntry,
  NeighborInfo,
  NetnsRef,
  RouteInfo,
  RouteSpec,
  VethPeer,
  VxlanOptions,
} from './kernel-net.js';
import { MAIN_TABLE } from './kernel-net.js';
import { normalizeMac } from './mac.js';
import { NativeRtnlSocket } from './netlink-native.js';
import { RtnlSocket } from './netlink-socket.js';
import { withNetns } from './netns.js';
import {
  addAddressRequest,
  decodeAddress,
  deleteAddressRequest,
  dumpAddressesRequest,
} from './rtnl-address.js';
import { addFdbRequest, decodeFdb, deleteFdbRequest, dumpFdbRequest } from './rtnl-fdb.js';
import {
  createBridgeRequest,
  createVethRequest,
  createVxlanRequest,
  decodeLink,
  deleteLinkRequest,
  dumpLinksRequest,
  getLinkRequest,
  type ResolvedLinkChange,
  setBridgePortRequest,
  setLinkRequest,
} from './rtnl-link.js';
import {
  decodeNeighbor,
  deleteNeighborRequest,
  dumpNeighborsRequest,
  setNeighborRequest,
} from './rtnl-neighbor.js';
import {
  addRouteRequest,
  decodeRoute,
  deleteRouteRequest,
  dumpRoutesRequest,
  type ResolvedRoute,
} from './rtnl-route.js';
import type { RtnlRequest, RtnlTransport } from './rtnl-structs.js';
import { readSysctl, writeSysctl } from './sysctl.js';

export interface OpenKernelNetOptions {
  /** Configure this namespace instead of the caller's. The handle stays the caller's. */
  netns?: NetnsRef;
  timeoutMs?: number;
  /**
   * Make every request a synchronous call into the weft_sys addon
   * (netlink-native.ts) instead of going through the `netlink` package: far
   * cheaper for a short-lived process (the CNI plugin), but each request
   * blocks the thread while the kernel works, so long-lived processes keep
   * the default.
   */
  native?: boolean;
}

/** Open a KernelNet on a fresh rtnetlink socket (in `opts.netns` when given). */
export function openNetlinkKernel(opts: OpenKernelNetOptions = {}): KernelNet {
  const sockOpts = opts.timeoutMs === undefined ? {} : { timeoutMs: opts.timeoutMs };
  const nativeOpts = { ...sockOpts, ...(opts.netns ? { netns: opts.netns } : {}) };
  const open = (): RtnlTransport =>
    opts.native ? NativeRtnlSocket.open(nativeOpts) : RtnlSocket.open(sockOpts);
  const socket = opts.netns ? withNetns(opts.netns, open) : open();
  return new NetlinkKernel(socket, opts.netns);
}

const decodeAll = <T>(payloads: Buffer[], decode: (p: Buffer) => T | undefined): T[] =>
  payloads.map(decode).filter((x): x is T => x !== undefined);

class NetlinkKernel implements KernelNet {
  constructor(
    private readonly socket: RtnlTransport,
    readonly netns: NetnsRef | undefined,
  ) {}

  close(): void {
    this.socket.close();
  }

  private call(op: string, details: Record<string, unknown>, req: RtnlRequest): Promise<Buffer[]> {
    return kernelCall(op, this.withNs(details), () => this.socket.request(req));
  }

  /** Like `call`, but the named failure is an answer (false) rather than an error. */
  private async tolerant(
    op: string,
    details: Record<string, unknown>,
    req: RtnlRequest,
    ok: ((e: unknown) => boolean) | false,
    send: (req: RtnlRequest) => Promise<unknown> = (r) => this.socket.request(r),
  ): Promise<boolean> {
    const when = ok || (() => false);
    const attempt = async () => {
      await send(req);
      return true;
    };
    return kernelCall(op, this.withNs(details), attempt, { when, value: false });
  }

  private withNs(details: Record<string, unknown>): Record<string, unknown> {
    return this.netns?.path ? { ...details, netns: this.netns.path } : details;
  }

  // ── links ────────────────────────────────────────────────────────────────

  async listLinks(): Promise<Link[]> {
    return decodeAll(await this.call('list links', {}, dumpLinksRequest()), decodeLink);
  }

  async getLink(ref: LinkRef): Promise<Link | undefined> {
    try {
      const [payload] = await this.socket.request(getLinkRequest(ref));
      return payload ? decodeLink(payload) : undefined;
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw kernelError('get link', e, this.withNs({ link: ref }));
    }
  }

  /** Name or index → index; a missing link is a KERNEL_ERROR ENODEV naming the operation. */
  private async index(ref: LinkRef, op: string): Promise<number> {
    if (typeof ref === 'number') return ref;
    const link = await this.getLink(ref);
    if (!link) throw kernelErrno(op, 'ENODEV', this.withNs({ link: ref }));
    return link.index;
  }

  private async created(name: string, op: string): Promise<Link> {
    const link = await this.getLink(name);
    if (!link) throw kernelErrno(op, 'ENODEV', this.withNs({ link: name, note: 'created link vanished' }));
    return link;
  }

  async createBridge(name: string, opts: CreateLinkOptions = {}): Promise<Link> {
    await this.call('create bridge', { link: name }, createBridgeRequest(name, opts));
    return this.created(name, 'create bridge');
  }

  async createVeth(name: string, peer: VethPeer, opts: CreateLinkOptions = {}): Promise<Link> {
    await this.call('create veth', { link: name, peer: peer.name }, createVethRequest(name, peer, opts));
    return this.created(name, 'create veth');
  }

  async createVxlan(name: string, opts: VxlanOptions): Promise<Link> {
    const dev = opts.dev === undefined ? undefined : await this.index(opts.dev, 'create vxlan');
    await this.call('create vxlan', { link: name, vni: opts.vni }, createVxlanRequest(name, opts, dev));
    return this.created(name, 'create vxlan');
  }

  async setLink(ref: LinkRef, change: LinkChange): Promise<void> {
    const index = await this.index(ref, 'set link');
    const resolved: ResolvedLinkChange = {};
    if (change.up !== undefined) resolved.up = change.up;
    if (change.mtu !== undefined) resolved.mtu = change.mtu;
    if (change.mac !== undefined) resolved.mac = normalizeMac(change.mac);
    if (change.name !== undefined) resolved.name = change.name;
    if (change.netns !== undefined) resolved.netnsFd = change.netns.fd;
    if (change.master !== undefined) {
      resolved.masterIndex = change.master === null ? 0 : await this.index(change.master, 'set link master');
    }
    await this.call(
      'set link',
      { link: ref, change: describeChange(change) },
      setLinkRequest(index, resolved),
    );
  }

  async setBridgePort(ref: LinkRef, change: BridgePortChange): Promise<void> {
    const index = await this.index(ref, 'set bridge port');
    await this.call('set bridge port', { link: ref, ...change }, setBridgePortRequest(index, change));
  }

  async deleteLink(ref: LinkRef, opts: { missingOk?: boolean } = {}): Promise<boolean> {
    let index: number;
    try {
      index = await this.index(ref, 'delete link');
    } catch (e) {
      if (opts.missingOk && isNotFound(e)) return false;
      throw e;
    }
    // Through weft_sys, done once the kernel has unlisted the link (and a
    // veth's peer), without waiting out its RCU clean-up (see nlUnlink).
    const unlink = this.socket.unlink?.bind(this.socket);
    return this.tolerant(
      'delete link',
      { link: ref },
      deleteLinkRequest(index),
      opts.missingOk === true && isNotFound,
      unlink ? (req) => unlink(req, index) : undefined,
    );
  }

  // ── addresses ────────────────────────────────────────────────────────────

  async listAddresses(link?: LinkRef): Promise<AddressInfo[]> {
    const all = decodeAll(await this.call('list addresses', {}, dumpAddressesRequest()), decodeAddress);
    if (link === undefined) return all;
    const index = await this.index(link, 'list addresses');
    return all.filter((a) => a.index === index);
  }

  async addAddress(link: LinkRef, cidr: string, opts: AddAddressOptions = {}): Promise<boolean> {
    const index = await this.index(link, 'add address');
    return this.tolerant(
      'add address',
      { link, cidr },
      addAddressRequest(index, cidr, opts),
      opts.existOk === true && isExists,
    );
  }

  async deleteAddress(link: LinkRef, cidr: string, opts: { missingOk?: boolean } = {}): Promise<boolean> {
    const index = await this.index(link, 'delete address');
    return this.tolerant(
      'delete address',
      { link, cidr },
      deleteAddressRequest(index, cidr),
      opts.missingOk === true && isNotFound,
    );
  }

  // ── routes ───────────────────────────────────────────────────────────────

  async listRoutes(opts: { table?: number } = {}): Promise<RouteInfo[]> {
    const table = opts.table ?? MAIN_TABLE;
    const all = decodeAll(await this.call('list routes', {}, dumpRoutesRequest()), decodeRoute);
    return all.filter((r) => r.table === table);
  }

  private async resolveRoute(route: RouteSpec, op: string): Promise<ResolvedRoute> {
    const { dev, ...rest } = route;
    return dev === undefined ? rest : { ...rest, oif: await this.index(dev, op) };
  }

  async addRoute(route: RouteSpec, opts: { replace?: boolean; existOk?: boolean } = {}): Promise<boolean> {
    const r = await this.resolveRoute(route, 'add route');
    const req = addRouteRequest(r, opts.replace ? { replace: true } : {});
    return this.tolerant('add route', { route }, req, opts.existOk === true && isExists);
  }

  async deleteRoute(route: RouteSpec, opts: { missingOk?: boolean } = {}): Promise<boolean> {
    const r = await this.resolveRoute(route, 'delete route');
    return this.tolerant(
      'delete route',
      { route },
      deleteRouteRequest(r),
      opts.missingOk === true && isNotFound,
    );
  }

  // ── forwarding database ──────────────────────────────────────────────────

  async listFdb(opts: { link?: LinkRef; where?: 'self' | 'master' } = {}): Promise<FdbInfo[]> {
    const all = decodeAll(await this.call('list fdb', {}, dumpFdbRequest()), decodeFdb);
    const index = opts.link === undefined ? undefined : await this.index(opts.link, 'list fdb');
    return all.filter(
      (e) => (index === undefined || e.linkIndex === index) && (!opts.where || e.where === opts.where),
    );
  }

  async addFdb(entry: FdbEntry, opts: { mode?: FdbAddMode } = {}): Promise<void> {
    const index = await this.index(entry.link, 'add fdb');
    await this.call('add fdb', { ...entry }, addFdbRequest(index, entry, opts.mode));
  }

  async deleteFdb(entry: FdbEntry, opts: { missingOk?: boolean } = {}): Promise<boolean> {
    const index = await this.index(entry.link, 'delete fdb');
    return this.tolerant(
      'delete fdb',
      { ...entry },
      deleteFdbRequest(index, entry),
      opts.missingOk === true && isNotFound,
    );
  }

  // ── neighbours ───────────────────────────────────────────────────────────

  async listNeighbors(link?: LinkRef): Promise<NeighborInfo[]> {
    const all = decodeAll(await this.call('list neighbours', {}, dumpNeighborsRequest()), decodeNeighbor);
    if (link === undefined) return all;
    const index = await this.index(link, 'list neighbours');
    return all.filter((n) => n.linkIndex === index);
  }

  async setNeighbor(entry: NeighborEntry): Promise<void> {
    const index = await this.index(entry.link, 'set neighbour');
    await this.call('set neighbour', { ...entry }, setNeighborRequest(index, entry));
  }

  async deleteNeighbor(
    entry: Pick<NeighborEntry, 'link' | 'ip'>,
    opts: { missingOk?: boolean } = {},
  ): Promise<boolean> {
    const index = await this.index(entry.link, 'delete neighbour');
    const req = deleteNeighborRequest(index, entry.ip);
    return this.tolerant('delete neighbour', { ...entry }, req, opts.missingOk === true && isNotFound);
  }

  // ── sysctl ───────────────────────────────────────────────────────────────

  async getSysctl(key: string): Promise<string> {
    return readSysctl(this.netns, key);
  }

  async setSysctl(key: string, value: string | number): Promise<void> {
    writeSysctl(this.netns, key, value);
  }
}

function describeChange(c: LinkChange): Record<string, unknown> {
  const { netns, master, ...rest } = c;
  return {
    ...rest,
    ...(master !== undefined ? { master } : {}),
    ...(netns ? { netns: netns.path ?? `fd:${netns.fd}` } : {}),
  };
}
