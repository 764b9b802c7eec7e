/**
 * Link messages (RTM_*LINK): requests to list, create, change and delete
 * links, and the decoder of the kernel's link descriptions. Pure.
 *
 * A veth creation, the most nested message weft sends:
 *
 *   ifinfomsg { index 0, flags/change IFF_UP? }
 *   IFLA_IFNAME "veth-host"            IFLA_MTU 1376
 *   IFLA_LINKINFO
 *     IFLA_INFO_KIND "veth"
 *     IFLA_INFO_DATA
 *       VETH_INFO_PEER  ifinfomsg { flags/change IFF_UP? }
 *                       IFLA_IFNAME "eth0"   IFLA_NET_NS_FD <fd>   IFLA_MTU 1376
 */
import type { BridgePortChange, CreateLinkOptions, Link, VethPeer, VxlanOptions } from './kernel-net.js';
import { macFromBytes, macToBytes } from './mac.js';
import { type AttrMap, decodeAttrs, type NlAttr, str, u8, u16be, u32 } from './nlattr.js';
import * as C from './rtnl-constants.js';
import {
  decodeIfInfoMsg,
  encodeIfInfoMsg,
  IFINFOMSG_LEN,
  ipBytes,
  ipFromBytes,
  type RtnlRequest,
  withAttrs,
} from './rtnl-structs.js';

const CREATE = C.NLM_F_CREATE | C.NLM_F_EXCL;

/** IFF_UP in flags and change when `up` is given, nothing otherwise. */
function upFlags(up: boolean | undefined): { flags: number; change: number } {
  if (up === undefined) return { flags: 0, change: 0 };
  return { flags: up ? C.IFF_UP : 0, change: C.IFF_UP };
}

function commonAttrs(opts: { mtu?: number; mac?: string }): NlAttr[] {
  const attrs: NlAttr[] = [];
  if (opts.mtu !== undefined) attrs.push({ type: C.IFLA_MTU, value: u32(opts.mtu) });
  if (opts.mac !== undefined) attrs.push({ type: C.IFLA_ADDRESS, value: macToBytes(opts.mac) });
  return attrs;
}

function linkInfo(kind: string, data?: NlAttr[]): NlAttr {
  const nest: NlAttr[] = [{ type: C.IFLA_INFO_KIND, value: str(kind) }];
  if (data) nest.push({ type: C.IFLA_INFO_DATA, value: data });
  return { type: C.IFLA_LINKINFO, value: nest };
}

export function dumpLinksRequest(): RtnlRequest {
  return { type: C.RTM_GETLINK, flags: C.NLM_F_DUMP, data: encodeIfInfoMsg({ family: C.AF_UNSPEC }) };
}

export function getLinkRequest(ref: string | number): RtnlRequest {
  const data =
    typeof ref === 'number'
      ? encodeIfInfoMsg({ index: ref })
      : withAttrs(encodeIfInfoMsg({}), [{ type: C.IFLA_IFNAME, value: str(ref) }]);
  return { type: C.RTM_GETLINK, flags: 0, data };
}

export function createBridgeRequest(name: string, opts: CreateLinkOptions = {}): RtnlRequest {
  const attrs = [{ type: C.IFLA_IFNAME, value: str(name) }, ...commonAttrs(opts), linkInfo('bridge')];
  return { type: C.RTM_NEWLINK, flags: CREATE, data: withAttrs(encodeIfInfoMsg(upFlags(opts.up)), attrs) };
}

export function createVethRequest(name: string, peer: VethPeer, opts: CreateLinkOptions = {}): RtnlRequest {
  const peerAttrs: NlAttr[] = [{ type: C.IFLA_IFNAME, value: str(peer.name) }, ...commonAttrs(peer)];
  if (peer.netns) peerAttrs.push({ type: C.IFLA_NET_NS_FD, value: u32(peer.netns.fd) });
  const peerInfo = withAttrs(encodeIfInfoMsg(upFlags(peer.up)), peerAttrs);
  const attrs = [
    { type: C.IFLA_IFNAME, value: str(name) },
    ...commonAttrs(opts),
    linkInfo('veth', [{ type: C.VETH_INFO_PEER, value: peerInfo }]),
  ];
  return { type: C.RTM_NEWLINK, flags: CREATE, data: withAttrs(encodeIfInfoMsg(upFlags(opts.up)), attrs) };
}

export function createVxlanRequest(name: string, opts: VxlanOptions, devIndex?: number): RtnlRequest {
  const data: NlAttr[] = [
    { type: C.IFLA_VXLAN_ID, value: u32(opts.vni) },
    { type: C.IFLA_VXLAN_PORT, value: u16be(opts.port) },
    { type: C.IFLA_VXLAN_LEARNING, value: u8(opts.learning ? 1 : 0) },
  ];
  if (opts.local !== undefined) data.push({ type: C.IFLA_VXLAN_LOCAL, value: ipBytes(opts.local) });
  if (devIndex !== undefined) data.push({ type: C.IFLA_VXLAN_LINK, value: u32(devIndex) });
  const attrs = [{ type: C.IFLA_IFNAME, value: str(name) }, ...commonAttrs(opts), linkInfo('vxlan', data)];
  return { type: C.RTM_NEWLINK, flags: CREATE, data: withAttrs(encodeIfInfoMsg(upFlags(opts.up)), attrs) };
}

/** Changes with references already resolved to indices (master 0 = no master). */
export interface ResolvedLinkChange {
  up?: boolean;
  mtu?: number;
  mac?: string;
  name?: string;
  masterIndex?: number;
  netnsFd?: number;
}

export function setLinkRequest(index: number, change: ResolvedLinkChange): RtnlRequest {
  const attrs = commonAttrs(change);
  if (change.name !== undefined) attrs.push({ type: C.IFLA_IFNAME, value: str(change.name) });
  if (change.masterIndex !== undefined) attrs.push({ type: C.IFLA_MASTER, value: u32(change.masterIndex) });
  if (change.netnsFd !== undefined) attrs.push({ type: C.IFLA_NET_NS_FD, value: u32(change.netnsFd) });
  return {
    type: C.RTM_NEWLINK,
    flags: 0,
    data: withAttrs(encodeIfInfoMsg({ index, ...upFlags(change.up) }), attrs),
  };
}

/**
 * Bridge port options go through the port's "slave" link info (what `ip link
 * set X type bridge_slave hairpin on` sends), which needs no NLA_F_NESTED
 * handling and works on an RTM_NEWLINK without NLM_F_CREATE.
 */
export function setBridgePortRequest(index: number, change: BridgePortChange): RtnlRequest {
  const port: NlAttr[] = [];
  if (change.hairpin !== undefined)
    port.push({ type: C.IFLA_BRPORT_MODE, value: u8(change.hairpin ? 1 : 0) });
  if (change.learning !== undefined)
    port.push({ type: C.IFLA_BRPORT_LEARNING, value: u8(change.learning ? 1 : 0) });
  const flags: [boolean | undefined, number][] = [
    [change.unicastFlood, C.IFLA_BRPORT_UNICAST_FLOOD],
    [change.multicastFlood, C.IFLA_BRPORT_MCAST_FLOOD],
    [change.broadcastFlood, C.IFLA_BRPORT_BCAST_FLOOD],
    [change.isolated, C.IFLA_BRPORT_ISOLATED],
  ];
  for (const [on, type] of flags) if (on !== undefined) port.push({ type, value: u8(on ? 1 : 0) });
  const info: NlAttr = {
    type: C.IFLA_LINKINFO,
    value: [
      { type: C.IFLA_INFO_SLAVE_KIND, value: str('bridge') },
      { type: C.IFLA_INFO_SLAVE_DATA, value: port },
    ],
  };
  return { type: C.RTM_NEWLINK, flags: 0, data: withAttrs(encodeIfInfoMsg({ index }), [info]) };
}

export function deleteLinkRequest(index: number): RtnlRequest {
  return { type: C.RTM_DELLINK, flags: 0, data: encodeIfInfoMsg({ index }) };
}

/** Decode one RTM_NEWLINK payload; undefined when it is not a well-formed link. */
export function decodeLink(payload: Buffer): Link | undefined {
  const hdr = decodeIfInfoMsg(payload);
  if (!hdr) return undefined;
  const attrs = decodeAttrs(payload.subarray(IFINFOMSG_LEN));
  if (!attrs.ok) return undefined;
  const a = attrs.value;
  const name = a.str(C.IFLA_IFNAME);
  if (name === undefined) return undefined;
  const link: Link = {
    index: hdr.index,
    name,
    mtu: a.u32(C.IFLA_MTU) ?? 0,
    mac: macFromBytes(a.get(C.IFLA_ADDRESS) ?? Buffer.alloc(0)),
    up: (hdr.flags & C.IFF_UP) !== 0,
    operState: C.OPER_STATES[a.u8(C.IFLA_OPERSTATE) ?? 0] ?? 'unknown',
  };
  const master = a.u32(C.IFLA_MASTER);
  if (master) link.masterIndex = master;
  const peer = a.u32(C.IFLA_LINK);
  if (peer && peer !== hdr.index) link.peerIndex = peer;
  const info = a.nested(C.IFLA_LINKINFO);
  if (info) decodeLinkInfo(info, link);
  return link;
}

function decodeLinkInfo(info: AttrMap, link: Link): void {
  const kind = info.str(C.IFLA_INFO_KIND);
  if (kind) link.kind = kind;
  const data = info.nested(C.IFLA_INFO_DATA);
  if (kind === 'vxlan' && data) {
    link.vxlan = {
      vni: data.u32(C.IFLA_VXLAN_ID) ?? 0,
      port: data.u16be(C.IFLA_VXLAN_PORT) ?? 0,
      learning: (data.u8(C.IFLA_VXLAN_LEARNING) ?? 0) !== 0,
    };
    const local = ipFromBytes(data.get(C.IFLA_VXLAN_LOCAL));
    if (local && local !== '0.0.0.0') link.vxlan.local = local;
    const dev = data.u32(C.IFLA_VXLAN_LINK);
    if (dev) link.vxlan.devIndex = dev;
  }
  const slave = info.nested(C.IFLA_INFO_SLAVE_DATA);
  if (info.str(C.IFLA_INFO_SLAVE_KIND) === 'bridge' && slave) {
    link.bridgePort = {
      hairpin: (slave.u8(C.IFLA_BRPORT_MODE) ?? 0) !== 0,
      learning: (slave.u8(C.IFLA_BRPORT_LEARNING) ?? 1) !== 0,
    };
    const optional = [
      ['unicastFlood', C.IFLA_BRPORT_UNICAST_FLOOD],
      ['multicastFlood', C.IFLA_BRPORT_MCAST_FLOOD],
      ['broadcastFlood', C.IFLA_BRPORT_BCAST_FLOOD],
      ['isolated', C.IFLA_BRPORT_ISOLATED],
    ] as const;
    for (const [key, type] of optional) {
      const v = slave.u8(type);
      if (v !== undefined) link.bridgePort[key] = v !== 0;
    }
  }
}
