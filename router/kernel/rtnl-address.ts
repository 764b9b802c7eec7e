/** Address messages (RTM_*ADDR), IPv4 only. Pure. */
import { formatIp, mustParseCidr, prefixMask } from '../../common/ip.js';
import type { AddressInfo } from './kernel-net.js';
import { decodeAttrs, type NlAttr, u32 } from './nlattr.js';
import * as C from './rtnl-constants.js';
import {
  decodeIfAddrMsg,
  encodeIfAddrMsg,
  IFADDRMSG_LEN,
  ipBytes,
  ipFromBytes,
  type RtnlRequest,
  withAttrs,
} from './rtnl-structs.js';

export function dumpAddressesRequest(): RtnlRequest {
  return {
    type: C.RTM_GETADDR,
    flags: C.NLM_F_DUMP,
    data: encodeIfAddrMsg({ family: C.AF_INET, prefixlen: 0, flags: 0, scope: 0, index: 0 }),
  };
}

/**
 * Add "a.b.c.d/n" to a link. The subnet broadcast is set as `ip addr add …
 * brd +` would (the kernel does not derive it), so broadcasts to the overlay's
 * broadcast address are recognised.
 */
export function addAddressRequest(
  index: number,
  cidr: string,
  opts: { noPrefixRoute?: boolean } = {},
): RtnlRequest {
  const c = mustParseCidr(cidr, { host: true });
  const ip = ipBytes(formatIp(c.addr));
  const attrs: NlAttr[] = [
    { type: C.IFA_LOCAL, value: ip },
    { type: C.IFA_ADDRESS, value: ip },
  ];
  if (c.prefix < 31) {
    const bcast = (c.addr | ~prefixMask(c.prefix)) >>> 0;
    attrs.push({ type: C.IFA_BROADCAST, value: ipBytes(formatIp(bcast)) });
  }
  if (opts.noPrefixRoute) attrs.push({ type: C.IFA_FLAGS, value: u32(C.IFA_F_NOPREFIXROUTE) });
  const hdr = encodeIfAddrMsg({ family: C.AF_INET, prefixlen: c.prefix, flags: 0, scope: 0, index });
  return { type: C.RTM_NEWADDR, flags: C.NLM_F_CREATE | C.NLM_F_EXCL, data: withAttrs(hdr, attrs) };
}

export function deleteAddressRequest(index: number, cidr: string): RtnlRequest {
  const c = mustParseCidr(cidr, { host: true });
  const ip = ipBytes(formatIp(c.addr));
  const hdr = encodeIfAddrMsg({ family: C.AF_INET, prefixlen: c.prefix, flags: 0, scope: 0, index });
  return { type: C.RTM_DELADDR, flags: 0, data: withAttrs(hdr, [{ type: C.IFA_LOCAL, value: ip }]) };
}

export function decodeAddress(payload: Buffer): AddressInfo | undefined {
  const hdr = decodeIfAddrMsg(payload);
  if (!hdr || hdr.family !== C.AF_INET) return undefined;
  const attrs = decodeAttrs(payload.subarray(IFADDRMSG_LEN));
  if (!attrs.ok) return undefined;
  const ip = ipFromBytes(attrs.value.get(C.IFA_LOCAL)) ?? ipFromBytes(attrs.value.get(C.IFA_ADDRESS));
  if (!ip || hdr.prefixlen > 32) return undefined;
  const info: AddressInfo = { index: hdr.index, cidr: `${ip}/${hdr.prefixlen}` };
  const label = attrs.value.str(C.IFA_LABEL);
  if (label) info.label = label;
  return info;
}
