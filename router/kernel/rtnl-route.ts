/** Route messages (RTM_*ROUTE), IPv4 only. Pure. */
import { type Cidr, formatIp, mustParseCidr } from '../../common/ip.js';
import {
  MAIN_TABLE,
  type RouteInfo,
  type RouteScope,
  type RouteSpec,
  type RouteType,
  RTPROT_STATIC,
} from './kernel-net.js';
import { decodeAttrs, type NlAttr, u32 } from './nlattr.js';
import * as C from './rtnl-constants.js';
import {
  decodeRtMsg,
  encodeRtMsg,
  ipBytes,
  ipFromBytes,
  RTMSG_LEN,
  type RtnlRequest,
  withAttrs,
} from './rtnl-structs.js';

/** A RouteSpec whose `dev` has been resolved to an index. */
export type ResolvedRoute = Omit<RouteSpec, 'dev'> & { oif?: number };

const SCOPE_NAMES = new Map<number, RouteScope>(
  Object.entries(C.ROUTE_SCOPES).map(([k, v]) => [v, k as RouteScope]),
);
const TYPE_NAMES = new Map<number, RouteType>(
  Object.entries(C.ROUTE_TYPES).map(([k, v]) => [v, k as RouteType]),
);

export function dumpRoutesRequest(): RtnlRequest {
  const hdr = encodeRtMsg({
    family: C.AF_INET,
    dstLen: 0,
    srcLen: 0,
    tos: 0,
    table: 0,
    protocol: 0,
    scope: 0,
    type: 0,
    flags: 0,
  });
  return { type: C.RTM_GETROUTE, flags: C.NLM_F_DUMP, data: hdr };
}

/** The scope a route gets when the caller does not say, as `ip route add` chooses it. */
export function defaultScope(r: Pick<RouteSpec, 'gateway' | 'type'>): RouteScope {
  if (r.type === 'local') return 'host';
  return r.gateway === undefined && (r.type === undefined || r.type === 'unicast') ? 'link' : 'universe';
}

function routeAttrs(r: ResolvedRoute, dst: Cidr, table: number): NlAttr[] {
  const attrs: NlAttr[] = [{ type: C.RTA_TABLE, value: u32(table) }];
  if (dst.prefix > 0) attrs.push({ type: C.RTA_DST, value: ipBytes(formatIp(dst.addr)) });
  if (r.oif !== undefined) attrs.push({ type: C.RTA_OIF, value: u32(r.oif) });
  if (r.gateway !== undefined) attrs.push({ type: C.RTA_GATEWAY, value: ipBytes(r.gateway) });
  if (r.metric !== undefined) attrs.push({ type: C.RTA_PRIORITY, value: u32(r.metric) });
  if (r.src !== undefined) attrs.push({ type: C.RTA_PREFSRC, value: ipBytes(r.src) });
  return attrs;
}

function header(r: ResolvedRoute, forDelete: boolean): { hdr: Buffer; dst: Cidr; table: number } {
  const dst = mustParseCidr(r.dst);
  const table = r.table ?? MAIN_TABLE;
  const hdr = encodeRtMsg({
    family: C.AF_INET,
    dstLen: dst.prefix,
    srcLen: 0,
    tos: 0,
    // Tables above 255 only fit in RTA_TABLE; the header then says "compat".
    table: table < 256 ? table : C.RT_TABLE_COMPAT,
    // A delete matches any protocol/scope/type unless the caller pins them.
    protocol: forDelete ? (r.protocol ?? 0) : (r.protocol ?? RTPROT_STATIC),
    scope:
      forDelete && r.scope === undefined ? C.RT_SCOPE_NOWHERE : C.ROUTE_SCOPES[r.scope ?? defaultScope(r)],
    type: forDelete && r.type === undefined ? 0 : C.ROUTE_TYPES[r.type ?? 'unicast'],
    flags: 0,
  });
  return { hdr, dst, table };
}

export function addRouteRequest(r: ResolvedRoute, opts: { replace?: boolean } = {}): RtnlRequest {
  const { hdr, dst, table } = header(r, false);
  return {
    type: C.RTM_NEWROUTE,
    flags: C.NLM_F_CREATE | (opts.replace ? C.NLM_F_REPLACE : C.NLM_F_EXCL),
    data: withAttrs(hdr, routeAttrs(r, dst, table)),
  };
}

export function deleteRouteRequest(r: ResolvedRoute): RtnlRequest {
  const { hdr, dst, table } = header(r, true);
  return { type: C.RTM_DELROUTE, flags: 0, data: withAttrs(hdr, routeAttrs(r, dst, table)) };
}

export function decodeRoute(payload: Buffer): RouteInfo | undefined {
  const hdr = decodeRtMsg(payload);
  if (!hdr || hdr.family !== C.AF_INET || hdr.dstLen > 32) return undefined;
  const attrs = decodeAttrs(payload.subarray(RTMSG_LEN));
  if (!attrs.ok) return undefined;
  const a = attrs.value;
  const dstIp = ipFromBytes(a.get(C.RTA_DST)) ?? '0.0.0.0';
  const info: RouteInfo = {
    dst: `${dstIp}/${hdr.dstLen}`,
    scope: SCOPE_NAMES.get(hdr.scope) ?? hdr.scope,
    table: a.u32(C.RTA_TABLE) ?? hdr.table,
    type: TYPE_NAMES.get(hdr.type) ?? hdr.type,
    protocol: hdr.protocol,
  };
  const gw = ipFromBytes(a.get(C.RTA_GATEWAY));
  if (gw) info.gateway = gw;
  const oif = a.u32(C.RTA_OIF);
  if (oif !== undefined) info.devIndex = oif;
  const metric = a.u32(C.RTA_PRIORITY);
  if (metric !== undefined) info.metric = metric;
  const src = ipFromBytes(a.get(C.RTA_PREFSRC));
  if (src) info.src = src;
  return info;
}
