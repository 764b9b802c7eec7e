/** IPv4 neighbour (ARP) entries (RTM_*NEIGH with family AF_INET). Pure. */
import type { NeighborEntry, NeighborInfo, NeighborState } from './kernel-net.js';
import { macFromBytes, macToBytes } from './mac.js';
import { decodeAttrs, type NlAttr } from './nlattr.js';
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

const STATE_BITS: [number, NeighborState][] = [
  [C.NUD_PERMANENT, 'permanent'],
  [C.NUD_NOARP, 'noarp'],
  [C.NUD_REACHABLE, 'reachable'],
  [C.NUD_STALE, 'stale'],
  [C.NUD_DELAY, 'delay'],
  [C.NUD_PROBE, 'probe'],
  [C.NUD_FAILED, 'failed'],
  [C.NUD_INCOMPLETE, 'incomplete'],
];
const STATE_OF: Record<NonNullable<NeighborEntry['state']>, number> = {
  permanent: C.NUD_PERMANENT,
  noarp: C.NUD_NOARP,
  reachable: C.NUD_REACHABLE,
};

export function dumpNeighborsRequest(): RtnlRequest {
  const hdr = encodeNdMsg({ family: C.AF_INET, ifindex: 0, state: 0, flags: 0, type: 0 });
  return { type: C.RTM_GETNEIGH, flags: C.NLM_F_DUMP, data: hdr };
}

export function setNeighborRequest(
  index: number,
  e: Pick<NeighborEntry, 'ip' | 'mac' | 'state'>,
): RtnlRequest {
  const hdr = encodeNdMsg({
    family: C.AF_INET,
    ifindex: index,
    state: STATE_OF[e.state ?? 'permanent'],
    flags: 0,
    type: 0,
  });
  const attrs: NlAttr[] = [
    { type: C.NDA_DST, value: ipBytes(e.ip) },
    { type: C.NDA_LLADDR, value: macToBytes(e.mac) },
  ];
  return { type: C.RTM_NEWNEIGH, flags: C.NLM_F_CREATE | C.NLM_F_REPLACE, data: withAttrs(hdr, attrs) };
}

export function deleteNeighborRequest(index: number, ip: string): RtnlRequest {
  const hdr = encodeNdMsg({ family: C.AF_INET, ifindex: index, state: 0, flags: 0, type: 0 });
  return { type: C.RTM_DELNEIGH, flags: 0, data: withAttrs(hdr, [{ type: C.NDA_DST, value: ipBytes(ip) }]) };
}

export function neighborState(bits: number): NeighborState {
  for (const [bit, name] of STATE_BITS) if (bits & bit) return name;
  return 'none';
}

export function decodeNeighbor(payload: Buffer): NeighborInfo | undefined {
  const hdr = decodeNdMsg(payload);
  if (!hdr || hdr.family !== C.AF_INET) return undefined;
  const attrs = decodeAttrs(payload.subarray(NDMSG_LEN));
  if (!attrs.ok) return undefined;
  const ip = ipFromBytes(attrs.value.get(C.NDA_DST));
  if (!ip) return undefined;
  const info: NeighborInfo = { linkIndex: hdr.ifindex, ip, state: neighborState(hdr.state) };
  const ll = attrs.value.get(C.NDA_LLADDR);
  if (ll?.length === 6) info.mac = macFromBytes(ll);
  return info;
}
