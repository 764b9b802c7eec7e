/**
 * The kernel networking adapter every weft component programs the kernel
 * through: links (bridge, veth, VXLAN), addresses, routes, bridge/VXLAN
 * forwarding entries (FDB) and sysctls, all within ONE network namespace (the
 * one the adapter was opened in), plus IPv4 neighbour (ARP) entries.
 *
 * Two implementations pass the same compliance suite
 * (`kernel-net.compliance.ts`):
 *   - `openNetlinkKernel()` (netlink-kernel.ts): rtnetlink, the real thing;
 *   - `FakeKernelWorld` (fake-kernel.ts): in memory, for pure tests of callers
 *     (the CNI plan executor, the fastdp programmer).
 *
 * Conventions: addresses are dotted IPv4 strings, prefixes "a.b.c.d/n" (an
 * interface address keeps its host bits: "10.32.0.5/12"), MACs lower-case
 * "aa:bb:cc:dd:ee:ff". A link is referred to by name or index (`LinkRef`).
 * Every failure is a WeftError KERNEL_ERROR whose details carry `op` and
 * `errno` (e.g. "EEXIST"); use `isExists`/`isNotFound` (kernel-errors.ts) to
 * tell the common cases apart, or the `existOk`/`missingOk` options to make an
 * operation idempotent.
 */

/** An open network namespace: what `IFLA_NET_NS_FD` and `setns` need. */
export interface NetnsRef {
  readonly fd: number;
  /** Where it was opened from, for messages. */
  readonly path?: string;
}

export type LinkRef = string | number;

export type OperState = 'unknown' | 'notpresent' | 'down' | 'lowerlayerdown' | 'testing' | 'dormant' | 'up';

export interface VxlanInfo {
  vni: number;
  /** Destination UDP port for encapsulated frames. */
  port: number;
  local?: string;
  learning: boolean;
  /** Index of the underlay device the VXLAN is bound to, if any. */
  devIndex?: number;
}

export interface Link {
  index: number;
  name: string;
  /** IFLA_INFO_KIND: 'bridge', 'veth', 'vxlan', 'tun', ... (undefined for loopback/physical devices). */
  kind?: string;
  mtu: number;
  mac: string;
  /** Administratively up (IFF_UP). */
  up: boolean;
  operState: OperState;
  /** The bridge this link is a port of. */
  masterIndex?: number;
  /** IFLA_LINK: for a veth, the peer's index (in the peer's namespace). */
  peerIndex?: number;
  vxlan?: VxlanInfo;
  /** Bridge port settings, when the link is a bridge port. */
  bridgePort?: BridgePortInfo;
}

export interface BridgePortInfo {
  hairpin: boolean;
  learning: boolean;
  /** Flooding flags and port isolation, when the kernel reports them. */
  unicastFlood?: boolean;
  multicastFlood?: boolean;
  broadcastFlood?: boolean;
  isolated?: boolean;
}

export interface CreateLinkOptions {
  mtu?: number;
  mac?: string;
  /** Bring the link up as part of the creation (default false). */
  up?: boolean;
}

export interface VethPeer {
  name: string;
  /** Create the peer directly in this namespace (IFLA_NET_NS_FD); default: same namespace. */
  netns?: NetnsRef;
  mtu?: number;
  mac?: string;
  up?: boolean;
}

export interface VxlanOptions extends CreateLinkOptions {
  vni: number;
  /** UDP destination port (weft: mesh port + 1 = 6784). */
  port: number;
  /** Source address of encapsulated packets. */
  local?: string;
  /** Learn remote MACs from received packets (default false: weft programs the FDB). */
  learning?: boolean;
  /** Bind to this underlay device. */
  dev?: LinkRef;
}

export interface LinkChange {
  up?: boolean;
  mtu?: number;
  mac?: string;
  /** Rename. Kernels before 6.x refuse to rename a link that is up (EBUSY): take it down first to be portable. */
  name?: string;
  /** Enslave to this bridge, or null to release from its bridge. */
  master?: LinkRef | null;
  /** Move the link into another namespace (it disappears from this one, down and without addresses). Bridges cannot move. */
  netns?: NetnsRef;
}

export interface BridgePortChange {
  /** Let frames go back out of the port they came in (needed for hairpin NAT). */
  hairpin?: boolean;
  learning?: boolean;
  /** Receive floods of unknown unicast / unknown multicast / broadcast frames (bridge_slave flood, mcast_flood, bcast_flood). */
  unicastFlood?: boolean;
  multicastFlood?: boolean;
  broadcastFlood?: boolean;
  /** Isolated ports never forward to each other (only to non-isolated ports). */
  isolated?: boolean;
}

export interface KernelLinks {
  listLinks(): Promise<Link[]>;
  /** The link, or undefined when there is none by that name/index. */
  getLink(ref: LinkRef): Promise<Link | undefined>;
  createBridge(name: string, opts?: CreateLinkOptions): Promise<Link>;
  /** Create a veth pair; returns this namespace's end. */
  createVeth(name: string, peer: VethPeer, opts?: CreateLinkOptions): Promise<Link>;
  createVxlan(name: string, opts: VxlanOptions): Promise<Link>;
  setLink(ref: LinkRef, change: LinkChange): Promise<void>;
  setBridgePort(ref: LinkRef, change: BridgePortChange): Promise<void>;
  /** Delete a link (a veth's peer goes with it). Returns false when it was missing and `missingOk`. */
  deleteLink(ref: LinkRef, opts?: { missingOk?: boolean }): Promise<boolean>;
}

export interface AddressInfo {
  index: number;
  /** Interface address with prefix, e.g. "10.32.0.5/12". */
  cidr: string;
  label?: string;
}

export interface AddAddressOptions {
  /** An identical address already present is success (returns false). */
  existOk?: boolean;
  /** Do not let the kernel add the prefix route (IFA_F_NOPREFIXROUTE). */
  noPrefixRoute?: boolean;
}

export interface KernelAddresses {
  listAddresses(link?: LinkRef): Promise<AddressInfo[]>;
  /** Returns true when added, false when it existed and `existOk`. */
  addAddress(link: LinkRef, cidr: string, opts?: AddAddressOptions): Promise<boolean>;
  deleteAddress(link: LinkRef, cidr: string, opts?: { missingOk?: boolean }): Promise<boolean>;
}

export type RouteScope = 'universe' | 'link' | 'host';
export type RouteType =
  | 'unicast'
  | 'local'
  | 'broadcast'
  | 'multicast'
  | 'blackhole'
  | 'unreachable'
  | 'prohibit';

/** The main routing table. */
export const MAIN_TABLE = 254;
/** The protocol weft tags its routes with when the caller does not say (RTPROT_STATIC, like `ip route add`). */
export const RTPROT_STATIC = 4;
/** Routes the kernel adds for interface addresses. */
export const RTPROT_KERNEL = 2;

export interface RouteSpec {
  /** Destination prefix; "0.0.0.0/0" is the default route. */
  dst: string;
  gateway?: string;
  dev?: LinkRef;
  /** Default: 'link' when there is no gateway, else 'universe'. */
  scope?: RouteScope;
  /** Default MAIN_TABLE. */
  table?: number;
  metric?: number;
  /** Preferred source address. */
  src?: string;
  /** Default 'unicast'. */
  type?: RouteType;
  /** Default RTPROT_STATIC. */
  protocol?: number;
}

export interface RouteInfo {
  dst: string;
  gateway?: string;
  devIndex?: number;
  scope: RouteScope | number;
  table: number;
  metric?: number;
  src?: string;
  type: RouteType | number;
  protocol: number;
}

export interface KernelRoutes {
  /** Routes of one table (default MAIN_TABLE), IPv4 only. */
  listRoutes(opts?: { table?: number }): Promise<RouteInfo[]>;
  /**
   * Add a route. With `replace` an existing route to the same destination is
   * replaced (returns true); with `existOk` an existing one is left alone (returns false).
   */
  addRoute(route: RouteSpec, opts?: { replace?: boolean; existOk?: boolean }): Promise<boolean>;
  deleteRoute(route: RouteSpec, opts?: { missingOk?: boolean }): Promise<boolean>;
}

/**
 * A forwarding entry. `self` entries live in the device's own table (a VXLAN
 * device: which remote VTEP a MAC is behind, and with the all-zeros MAC, where
 * to flood); `master` entries live in the bridge's table for one of its ports.
 */
export interface FdbEntry {
  /** The VXLAN device (self) or the bridge port (master). */
  link: LinkRef;
  mac: string;
  where: 'self' | 'master';
  /** Remote VTEP address (VXLAN self entries). */
  dst?: string;
  vni?: number;
  port?: number;
  /**
   * 'permanent' (NUD_PERMANENT; for a bridge this means "the bridge's own
   * address") or 'static' (NUD_NOARP: never ages). Default: permanent for
   * self, static for master. VXLAN devices accept only permanent.
   */
  state?: 'permanent' | 'static';
  /** Master entries: never moved to another port by learning (NTF_STICKY). */
  sticky?: boolean;
}

export interface FdbInfo {
  linkIndex: number;
  mac: string;
  where: 'self' | 'master';
  dst?: string;
  vni?: number;
  port?: number;
  state: 'permanent' | 'static' | 'dynamic';
  /** For master entries: the bridge. */
  masterIndex?: number;
}

/**
 * How an add treats an existing entry for the same MAC: 'replace' overwrites
 * (idempotent; the default), 'create' fails with EEXIST, 'append' adds another
 * destination (VXLAN all-zeros flood lists).
 */
export type FdbAddMode = 'replace' | 'create' | 'append';

export interface KernelFdb {
  listFdb(opts?: { link?: LinkRef; where?: 'self' | 'master' }): Promise<FdbInfo[]>;
  addFdb(entry: FdbEntry, opts?: { mode?: FdbAddMode }): Promise<void>;
  /** Delete one entry (with `dst`, only that destination of an appended list). */
  deleteFdb(entry: FdbEntry, opts?: { missingOk?: boolean }): Promise<boolean>;
}

export type NeighborState =
  | 'permanent'
  | 'noarp'
  | 'reachable'
  | 'stale'
  | 'delay'
  | 'probe'
  | 'failed'
  | 'incomplete'
  | 'none';

/** An IPv4 neighbour (ARP) entry: which MAC an address on a link has. */
export interface NeighborEntry {
  link: LinkRef;
  ip: string;
  mac: string;
  /** Default 'permanent' (never expires, never re-resolved). */
  state?: 'permanent' | 'noarp' | 'reachable';
}

export interface NeighborInfo {
  linkIndex: number;
  ip: string;
  /** Absent while unresolved (incomplete/failed). */
  mac?: string;
  state: NeighborState;
}

export interface KernelNeighbors {
  listNeighbors(link?: LinkRef): Promise<NeighborInfo[]>;
  /** Create or replace the entry for `ip` on `link`. */
  setNeighbor(entry: NeighborEntry): Promise<void>;
  deleteNeighbor(entry: Pick<NeighborEntry, 'link' | 'ip'>, opts?: { missingOk?: boolean }): Promise<boolean>;
}

/**
 * /proc/sys within the adapter's namespace. Keys are slash paths below
 * /proc/sys ("net/ipv4/conf/weft/forwarding") or dotted names
 * ("net.ipv4.ip_forward"; dotted only when the key contains no '/', since
 * interface names may contain dots).
 */
export interface KernelSysctl {
  getSysctl(key: string): Promise<string>;
  setSysctl(key: string, value: string | number): Promise<void>;
}

export interface KernelNet
  extends KernelLinks,
    KernelAddresses,
    KernelRoutes,
    KernelFdb,
    KernelNeighbors,
    KernelSysctl {
  /** The namespace this adapter configures (undefined: the caller's namespace at open). */
  readonly netns?: NetnsRef;
  /** Release the socket. The namespace handle, if any, stays the caller's to close. */
  close(): void;
}
