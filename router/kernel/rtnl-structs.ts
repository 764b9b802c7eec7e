/**
 * The fixed headers that start each rtnetlink payload, and the request shape
 * the adapters hand to the socket. Pure: bytes in, values out; decoders return
 * undefined for a payload too short for its header instead of throwing.
 *
 * struct ifinfomsg (16)   family u8 | pad u8 | type u16 | index i32 | flags u32 | change u32
 * struct ifaddrmsg (8)    family u8 | prefixlen u8 | flags u8 | scope u8 | index u32
 * struct rtmsg     (12)   family u8 | dst_len u8 | src_len u8 | tos u8 | table u8 | protocol u8
 *                         | scope u8 | type u8 | flags u32
 * struct ndmsg     (12)   family u8 | pad u8 | pad u16 | ifindex i32 | state u16 | flags u8 | type u8
 */
import { WeftError } from '../../common/errors.js';
import { formatIp, parseIp } from '../../common/ip.js';
import { encodeAttrs, type NlAttr } from './nlattr.js';

/** One rtnetlink request: message type, extra nlmsghdr flags, payload. */
export interface RtnlRequest {
  type: number;
  flags: number;
  data: Buffer;
}

export const IFINFOMSG_LEN = 16;
export const IFADDRMSG_LEN = 8;
export const RTMSG_LEN = 12;
export const NDMSG_LEN = 12;

export interface IfInfoMsg {
  family: number;
  type: number;
  index: number;
  flags: number;
  change: number;
}

export function encodeIfInfoMsg(m: Partial<IfInfoMsg>): Buffer {
  const b = Buffer.alloc(IFINFOMSG_LEN);
  b.writeUInt8(m.family ?? 0, 0);
  b.writeUInt16LE(m.type ?? 0, 2);
  b.writeInt32LE(m.index ?? 0, 4);
  b.writeUInt32LE((m.flags ?? 0) >>> 0, 8);
  b.writeUInt32LE((m.change ?? 0) >>> 0, 12);
  return b;
}

export function decodeIfInfoMsg(b: Buffer): IfInfoMsg | undefined {
  if (b.length < IFINFOMSG_LEN) return undefined;
  return {
    family: b.readUInt8(0),
    type: b.readUInt16LE(2),
    index: b.readInt32LE(4),
    flags: b.readUInt32LE(8),
    change: b.readUInt32LE(12),
  };
}

export interface IfAddrMsg {
  family: number;
  prefixlen: number;
  flags: number;
  scope: number;
  index: number;
}

export function encodeIfAddrMsg(m: IfAddrMsg): Buffer {
  const b = Buffer.alloc(IFADDRMSG_LEN);
  b.writeUInt8(m.family, 0);
  b.writeUInt8(m.prefixlen, 1);
  b.writeUInt8(m.flags & 0xff, 2);
  b.writeUInt8(m.scope, 3);
  b.writeUInt32LE(m.index >>> 0, 4);
  return b;
}

export function decodeIfAddrMsg(b: Buffer): IfAddrMsg | undefined {
  if (b.length < IFADDRMSG_LEN) return undefined;
  return {
    family: b.readUInt8(0),
    prefixlen: b.readUInt8(1),
    flags: b.readUInt8(2),
    scope: b.readUInt8(3),
    index: b.readUInt32LE(4),
  };
}

export interface RtMsg {
  family: number;
  dstLen: number;
  srcLen: number;
  tos: number;
  table: number;
  protocol: number;
  scope: number;
  type: number;
  flags: number;
}

export function encodeRtMsg(m: RtMsg): Buffer {
  const b = Buffer.alloc(RTMSG_LEN);
  b.writeUInt8(m.family, 0);
  b.writeUInt8(m.dstLen, 1);
  b.writeUInt8(m.srcLen, 2);
  b.writeUInt8(m.tos, 3);
  b.writeUInt8(m.table, 4);
  b.writeUInt8(m.protocol, 5);
  b.writeUInt8(m.scope, 6);
  b.writeUInt8(m.type, 7);
  b.writeUInt32LE(m.flags >>> 0, 8);
  return b;
}

export function decodeRtMsg(b: Buffer): RtMsg | undefined {
  if (b.length < RTMSG_LEN) return undefined;
  return {
    family: b.readUInt8(0),
    dstLen: b.readUInt8(1),
    srcLen: b.readUInt8(2),
    tos: b.readUInt8(3),
    table: b.readUInt8(4),
    protocol: b.readUInt8(5),
    scope: b.readUInt8(6),
    type: b.readUInt8(7),
    flags: b.readUInt32LE(8),
  };
}

export interface NdMsg {
  family: number;
  ifindex: number;
  state: number;
  flags: number;
  type: number;
}

export function encodeNdMsg(m: NdMsg): Buffer {
  const b = Buffer.alloc(NDMSG_LEN);
  b.writeUInt8(m.family, 0);
  b.writeInt32LE(m.ifindex, 4);
  b.writeUInt16LE(m.state, 8);
  b.writeUInt8(m.flags, 10);
  b.writeUInt8(m.type, 11);
  return b;
}

export function decodeNdMsg(b: Buffer): NdMsg | undefined {
  if (b.length < NDMSG_LEN) return undefined;
  return {
    family: b.readUInt8(0),
    ifindex: b.readInt32LE(4),
    state: b.readUInt16LE(8),
    flags: b.readUInt8(10),
    type: b.readUInt8(11),
  };
}

/** A fixed header followed by attributes. */
export function withAttrs(header: Buffer, attrs: readonly NlAttr[]): Buffer {
  return attrs.length === 0 ? header : Buffer.concat([header, encodeAttrs(attrs)]);
}

/** IPv4 dotted string → 4 bytes in network order. */
export function ipBytes(ip: string): Buffer {
  const v = parseIp(ip);
  if (v === undefined) throw new WeftError('INVALID_ADDRESS', `invalid IPv4 address: ${JSON.stringify(ip)}`);
  const b = Buffer.alloc(4);
  b.writeUInt32BE(v);
  return b;
}

/** 4 bytes → dotted string; anything else (IPv6) → undefined. */
export function ipFromBytes(b: Buffer | undefined): string | undefined {
  return b && b.length === 4 ? formatIp(b.readUInt32BE(0)) : undefined;
}
