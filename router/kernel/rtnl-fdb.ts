/**
 * Forwarding database entries (RTM_*NEIGH with family AF_BRIDGE): what `bridge
 * fdb add|append|del|show` sends. Pure.
 *
 *   VXLAN "self" entry:  ndmsg { AF_BRIDGE, ifindex=vxlan, state=PERMANENT, flags=SELF }
 *                        NDA_LLADDR mac   NDA_DST remote-vtep   [NDA_PORT] [NDA_VNI]
 *   bridge "master":     ndmsg { AF_BRIDGE, ifindex=port, state=NOARP, flags=MASTER }
 *                        NDA_LLADDR mac
 */
import type { FdbAddMode, FdbEntry, FdbInfo } from './kernel-net.js';
import { macFromBytes, macToBytes } from './mac.js';
import { decodeAttrs, type NlAttr, u16be, u32 } from './nlattr.js';
import * as C from './rtnl-constants.js';
import {
  decodeNdMsg,
  encodeNdMsg,
  ipBytes,
  ipFromBytes,
  NDMSG_LEN,
  type RtnlRequest,
  withAttrs,
} from './rtnl-structs.js';

const ADD_FLAGS: Record<FdbAddMode, number> = {
  replace: C.NLM_F_CREATE | C.NLM_F_REPLACE,
  create: C.NLM_F_CREATE | C.NLM_F_EXCL,
  append: C.NLM_F_CREATE | C.NLM_F_APPEND,
};

export function defaultFdbState(e: Pick<FdbEntry, 'where' | 'state'>): 'permanent' | 'static' {
  return e.state ?? (e.where === 'self' ? 'permanent' : 'static');
}

function entryMessage(index: number, e: FdbEntry): Buffer {
  const state = defaultFdbState(e) === 'permanent' ? C.NUD_PERMANENT : C.NUD_NOARP;
  const hdr = encodeNdMsg({
    family: C.AF_BRIDGE,
    ifindex: index,
    state,
    flags: (e.where === 'self' ? C.NTF_SELF : C.NTF_MASTER) | (e.sticky ? C.NTF_STICKY : 0),
    type: 0,
  });
  const attrs: NlAttr[] = [{ type: C.NDA_LLADDR, value: macToBytes(e.mac) }];
  if (e.dst !== undefined) attrs.push({ type: C.NDA_DST, value: ipBytes(e.dst) });
  if (e.port !== undefined) attrs.push({ type: C.NDA_PORT, value: u16be(e.port) });
  if (e.vni !== undefined) attrs.push({ type: C.NDA_VNI, value: u32(e.vni) });
  return withAttrs(hdr, attrs);
}

export function addFdbRequest(index: number, e: FdbEntry, mode: FdbAddMode = 'replace'): RtnlRequest {
  return { type: C.RTM_NEWNEIGH, flags: ADD_FLAGS[mode], data: entryMessage(index, e) };
}

export function deleteFdbRequest(index: number, e: FdbEntry): RtnlRequest {
  return { type: C.RTM_DELNEIGH, flags: 0, data: entryMessage(index, e) };
}

export function dumpFdbRequest(): RtnlRequest {
  // A bare ndmsg: the kernel's legacy dump parser then filters nothing.
  const hdr = encodeNdMsg({ family: C.AF_BRIDGE, ifindex: 0, state: 0, flags: 0, type: 0 });
  return { type: C.RTM_GETNEIGH, flags: C.NLM_F_DUMP, data: hdr };
}

export function decodeFdb(payload: Buffer): FdbInfo | undefined {
  const hdr = decodeNdMsg(payload);
  if (!hdr || hdr.family !== C.AF_BRIDGE) return undefined;
  const attrs = decodeAttrs(payload.subarray(NDMSG_LEN));
  if (!attrs.ok) return undefined;
  const a = attrs.value;
  const lladdr = a.get(C.NDA_LLADDR);
  if (lladdr?.length !== 6) return undefined;
  const info: FdbInfo = {
    linkIndex: hdr.ifindex,
    mac: macFromBytes(lladdr),
    where: fdbWhere(hdr.flags, a.has(C.NDA_MASTER)),
    state: hdr.state & C.NUD_PERMANENT ? 'permanent' : hdr.state & C.NUD_NOARP ? 'static' : 'dynamic',
  };
  const dst = ipFromBytes(a.get(C.NDA_DST));
  if (dst) info.dst = dst;
  const port = a.u16be(C.NDA_PORT);
  if (port !== undefined) info.port = port;
  const vni = a.u32(C.NDA_VNI);
  if (vni !== undefined) info.vni = vni;
  const master = a.u32(C.NDA_MASTER);
  if (master) info.masterIndex = master;
  return info;
}

/**
 * The bridge reports entries of its own table with NDA_MASTER (and no flag);
 * device tables (VXLAN, a port's address lists) report NTF_SELF.
 */
function fdbWhere(flags: number, hasMaster: boolean): 'self' | 'master' {
  if (flags & C.NTF_SELF) return 'self';
  return flags & C.NTF_MASTER || hasMaster ? 'master' : 'self';
}
