/**
 * Netlink attributes (struct nlattr, TLV with 4-byte alignment), encoded and
 * decoded without help: the generated rtnetlink layer of the `netlink` package
 * strips NLA_F_NESTED and leaves IFLA_LINKINFO as raw bytes, and costs ~20 ms
 * to load in a CNI plugin, so weft encodes the few messages it needs itself and
 * uses the package only as the socket (see netlink-socket.ts).
 *
 *   0               1               2               3
 *  ┌───────────────────────────────┬───────────────────────────────┐
 *  │ nla_len (u16, header+payload) │ nla_type (u16: N bit, type)   │
 *  ├───────────────────────────────┴───────────────────────────────┤
 *  │ payload …  (padded with zeros to a multiple of 4)             │
 *  └───────────────────────────────────────────────────────────────┘
 *
 * Host byte order (x86/arm little-endian) except where an attribute is defined
 * in network order (ports, addresses). Decoding never throws: malformed input
 * yields a typed error.
 */
import { err, ok, type Result } from '../../common/result.js';

export const NLA_F_NESTED = 0x8000;
export const NLA_F_NET_BYTEORDER = 0x4000;
const NLA_TYPE_MASK = ~(NLA_F_NESTED | NLA_F_NET_BYTEORDER) & 0xffff;
const NLA_HDRLEN = 4;
/** nla_len is a u16: no single attribute can exceed it. */
export const NLA_MAX_LEN = 0xffff;

/** An attribute to encode: raw bytes, or a nested list. */
export interface NlAttr {
  type: number;
  value: Uint8Array | NlAttr[];
  /** Set NLA_F_NESTED on the type (the kernel requires it for some nests, e.g. bridge PROTINFO). */
  nestedFlag?: boolean;
}

export const align4 = (n: number): number => (n + 3) & ~3;

/** Encode attributes back to back, each padded to 4 bytes. */
export function encodeAttrs(attrs: readonly NlAttr[]): Buffer {
  const parts: Buffer[] = [];
  for (const a of attrs) parts.push(encodeAttr(a));
  return Buffer.concat(parts);
}

function encodeAttr(a: NlAttr): Buffer {
  const payload = Array.isArray(a.value) ? encodeAttrs(a.value) : Buffer.from(a.value);
  const len = NLA_HDRLEN + payload.length;
  if (len > NLA_MAX_LEN) throw new RangeError(`netlink attribute ${a.type} too long (${len} bytes)`);
  const out = Buffer.alloc(align4(len));
  out.writeUInt16LE(len, 0);
  out.writeUInt16LE((a.type & NLA_TYPE_MASK) | (a.nestedFlag ? NLA_F_NESTED : 0), 2);
  payload.copy(out, NLA_HDRLEN);
  return out;
}

export type AttrDecodeError =
  | { kind: 'truncated-header'; offset: number }
  | { kind: 'bad-length'; offset: number; length: number };

/** Decoded attributes by type (flags stripped). A repeated type keeps every value, in order. */
export class AttrMap {
  constructor(private readonly byType: Map<number, Buffer[]>) {}
  get(type: number): Buffer | undefined {
    return this.byType.get(type)?.[0];
  }
  all(type: number): Buffer[] {
    return this.byType.get(type) ?? [];
  }
  has(type: number): boolean {
    return this.byType.has(type);
  }
  types(): number[] {
    return [...this.byType.keys()];
  }
  u8(type: number): number | undefined {
    const b = this.get(type);
    return b && b.length >= 1 ? b.readUInt8(0) : undefined;
  }
  u16(type: number): number | undefined {
    const b = this.get(type);
    return b && b.length >= 2 ? b.readUInt16LE(0) : undefined;
  }
  u16be(type: number): number | undefined {
    const b = this.get(type);
    return b && b.length >= 2 ? b.readUInt16BE(0) : undefined;
  }
  u32(type: number): number | undefined {
    const b = this.get(type);
    return b && b.length >= 4 ? b.readUInt32LE(0) : undefined;
  }
  /** A NUL-terminated string (the NUL and anything after it dropped). */
  str(type: number): string | undefined {
    const b = this.get(type);
    if (!b) return undefined;
    const nul = b.indexOf(0);
    return b.subarray(0, nul < 0 ? b.length : nul).toString('utf8');
  }
  /** Nested attributes, or undefined when absent or malformed. */
  nested(type: number): AttrMap | undefined {
    const b = this.get(type);
    if (!b) return undefined;
    const r = decodeAttrs(b);
    return r.ok ? r.value : undefined;
  }
}

/** Decode a run of attributes. Trailing bytes shorter than a header are an error, not ignored. */
export function decodeAttrs(buf: Uint8Array): Result<AttrMap, AttrDecodeError> {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  const map = new Map<number, Buffer[]>();
  let off = 0;
  while (off < b.length) {
    if (b.length - off < NLA_HDRLEN) return err({ kind: 'truncated-header', offset: off });
    const len = b.readUInt16LE(off);
    const type = b.readUInt16LE(off + 2) & NLA_TYPE_MASK;
    if (len < NLA_HDRLEN || off + len > b.length)
      return err({ kind: 'bad-length', offset: off, length: len });
    const value = b.subarray(off + NLA_HDRLEN, off + len);
    const list = map.get(type);
    if (list) list.push(value);
    else map.set(type, [value]);
    off += align4(len);
  }
  return ok(new AttrMap(map));
}

// Value builders, so message code reads as a table of attributes.
export const u8 = (v: number): Buffer => Buffer.from([v & 0xff]);
export function u16(v: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(v);
  return b;
}
export function u16be(v: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(v);
  return b;
}
export function u32(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v >>> 0);
  return b;
}
export function i32(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32LE(v);
  return b;
}
/** NUL-terminated string, as the kernel expects for names and kinds. */
export const str = (s: string): Buffer => Buffer.concat([Buffer.from(s, 'utf8'), Buffer.from([0])]);
