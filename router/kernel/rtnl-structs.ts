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

/** No kernel request should take long; a hung one must not hang weft (or a CNI call). */
export const DEFAULT_REQUEST_TIMEOUT_MS = 5_000;

/** One rtnetlink request: message type, extra nlmsghdr flags, payload. */
export interface RtnlRequest {
  type: number;
  flags: number;
  data: Buffer;
}

/**
 * What carries requests to the kernel: the `netlink` package's socket
 * (netlink-socket.ts, asynchronous, for the daemon) or weft_sys's synchronous
 * calls (netlink-native.ts, for short-lived processes such as the CNI plugin).
 */
export interface RtnlTransport {
  /**
   * The payloads of the reply messages (a dump's parts, or the one object a
   * GET returns), [] for a bare ACK. A kernel error rejects with an error
   * whose errno name kernel-errors.ts's `errnoOf` finds.
   */
  request(req: RtnlRequest): Promise<Buffer[]>;
  /**
   * Delete link `ifindex` with `req` (its RTM_DELLINK), resolving as soon as
   * the kernel has unlisted it — with a veth's peer, addresses and routes —
   * rather than after the kernel's RCU clean-up that follows. Optional: the
   * synchronous transport has it (netlink-native.ts).
   */
  unlink?(req: RtnlRequest, ifindex: number): Promise<void>;
  close(): void;
}

type FieldType = 'u8' | 'u16' | 'i32' | 'u32';
const WRITE: Record<FieldType, (b: Buffer, v: number, off: number) => void> = {
  u8: (b, v, off) => b.writeUInt8(v & 0xff, off),
  u16: (b, v, off) => b.writeUInt16LE(v & 0xffff, off),
  i32: (b, v, off) => b.writeInt32LE(v | 0, off),
  u32: (b, v, off) => b.writeUInt32LE(v >>> 0, off),
};
const READ: Record<FieldType, (b: Buffer, off: number) => number> = {
  u8: (b, off) => b.readUInt8(off),
  u16: (b, off) => b.readUInt16LE(off),
  i32: (b, off) => b.readInt32LE(off),
  u32: (b, off) => b.readUInt32LE(off),
};

/** A fixed C struct in host (little-endian) order: field name → [type, byte offset]; unnamed bytes are padding. */
function struct<K extends string>(size: number, fields: Record<K, [FieldType, number]>) {
  const entries = Object.entries(fields) as [K, [FieldType, number]][];
  return {
    size,
    /** Missing fields are zero. */
    encode(m: Partial<Record<K, number>>): Buffer {
      const b = Buffer.alloc(size);
      for (const [k, [t, off]] of entries) WRITE[t](b, m[k] ?? 0, off);
      return b;
    },
    /** undefined when the payload is shorter than the struct. */
    decode(b: Buffer): Record<K, number> | undefined {
      if (b.length < size) return undefined;
      const out = {} as Record<K, number>;
      for (const [k, [t, off]] of entries) out[k] = READ[t](b, off);
      return out;
    },
  };
}

const ifinfomsg = struct(16, {
  family: ['u8', 0],
  type: ['u16', 2],
  index: ['i32', 4],
  flags: ['u32', 8],
  change: ['u32', 12],
});
const ifaddrmsg = struct(8, {
  family: ['u8', 0],
  prefixlen: ['u8', 1],
  flags: ['u8', 2],
  scope: ['u8', 3],
  index: ['u32', 4],
});
const rtmsg = struct(12, {
  family: ['u8', 0],
  dstLen: ['u8', 1],
  srcLen: ['u8', 2],
  tos: ['u8', 3],
  table: ['u8', 4],
  protocol: ['u8', 5],
  scope: ['u8', 6],
  type: ['u8', 7],
  flags: ['u32', 8],
});
const ndmsg = struct(12, {
  family: ['u8', 0],
  ifindex: ['i32', 4],
  state: ['u16', 8],
  flags: ['u8', 10],
  type: ['u8', 11],
});

export type IfInfoMsg = Record<keyof Parameters<typeof ifinfomsg.encode>[0], number>;
export type IfAddrMsg = Record<keyof Parameters<typeof ifaddrmsg.encode>[0], number>;
export type RtMsg = Record<keyof Parameters<typeof rtmsg.encode>[0], number>;
export type NdMsg = Record<keyof Parameters<typeof ndmsg.encode>[0], number>;

export const IFINFOMSG_LEN = ifinfomsg.size;
export const IFADDRMSG_LEN = ifaddrmsg.size;
export const RTMSG_LEN = rtmsg.size;
export const NDMSG_LEN = ndmsg.size;

export const encodeIfInfoMsg = (m: Partial<IfInfoMsg>): Buffer => ifinfomsg.encode(m);
export const decodeIfInfoMsg = (b: Buffer): IfInfoMsg | undefined => ifinfomsg.decode(b);
export const encodeIfAddrMsg = (m: IfAddrMsg): Buffer => ifaddrmsg.encode(m);
export const decodeIfAddrMsg = (b: Buffer): IfAddrMsg | undefined => ifaddrmsg.decode(b);
export const encodeRtMsg = (m: RtMsg): Buffer => rtmsg.encode(m);
export const decodeRtMsg = (b: Buffer): RtMsg | undefined => rtmsg.decode(b);
export const encodeNdMsg = (m: NdMsg): Buffer => ndmsg.encode(m);
export const decodeNdMsg = (b: Buffer): NdMsg | undefined => ndmsg.decode(b);

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
