/**
 * IPAM messages on the mesh's "ipam" gossip channel (drawn in docs/protocol.md).
 *
 *   0     1     2         3      4
 *   ├─'W'─┼─'I'─┼─version─┼─tag──┼─ body …
 *
 * Body: a string table (varint count, then str8 each — every owner id in the
 * message appears once), the sender's index, then the tag's fields. Integers
 * are u32 big-endian or unsigned LEB128 varints. Limits are checked while
 * decoding; `decodeMessage` never throws and returns a typed error.
 */
import { type Cidr, cidrNetwork } from '../common/ip.js';
import { err, ok, type Result } from '../common/result.js';
import { ByteReader, ByteWriter } from './bytes.js';
import type { Ballot, ClaimsMap, NodeClaims } from './consensus.js';
import { MAX_CONSENSUS_NODES } from './consensus.js';
import { isValidOwnerId, type OwnerId } from './owner.js';
import { MAX_DEAD_OWNERS, MAX_RING_ENTRIES, type Ring, type RingEntry, ringViolation } from './ring.js';

export const IPAM_WIRE_VERSION = 1;
export const MAX_IPAM_MESSAGE = 4 << 20;
const MAX_STRINGS = MAX_RING_ENTRIES;

export enum IpamTag {
  /** Our ring and/or our consensus claims (gossip, broadcast, or a direct answer). */
  State = 1,
  /** "Please give me some space in this subnet" (unicast to an owner). */
  SpaceRequest = 2,
  /** Answer to SpaceRequest, with the donor's ring (holding the donation if granted). */
  SpaceReply = 3,
  /** "Please give me this one address" (unicast to its owner). */
  ClaimRequest = 4,
  /** Answer to ClaimRequest, with the owner's ring. */
  ClaimReply = 5,
}

export type ClaimOutcome = 'granted' | 'in-use' | 'not-owner';
const CLAIM_OUTCOMES: readonly ClaimOutcome[] = ['granted', 'in-use', 'not-owner'];

export type IpamMessage =
  | { tag: IpamTag.State; from: OwnerId; ring: Ring | null; consensus: ClaimsMap | null }
  | { tag: IpamTag.SpaceRequest; from: OwnerId; reqId: number; to: OwnerId; ringId: string; subnet: Cidr }
  | { tag: IpamTag.SpaceReply; from: OwnerId; reqId: number; granted: boolean; ring: Ring | null }
  | { tag: IpamTag.ClaimRequest; from: OwnerId; reqId: number; to: OwnerId; ringId: string; addr: number }
  | { tag: IpamTag.ClaimReply; from: OwnerId; reqId: number; outcome: ClaimOutcome; ring: Ring | null };

export type DecodeErrorKind =
  | 'truncated'
  | 'bad-magic'
  | 'unsupported-version'
  | 'unknown-tag'
  | 'limit'
  | 'invalid';
export interface IpamDecodeError {
  kind: DecodeErrorKind;
  message: string;
}

// ---------------------------------------------------------------------------
// Encoding

class StringTable {
  readonly list: string[] = [];
  private readonly index = new Map<string, number>();
  add(s: string): number {
    let i = this.index.get(s);
    if (i === undefined) {
      i = this.list.length;
      this.list.push(s);
      this.index.set(s, i);
    }
    return i;
  }
}

function collectRing(t: StringTable, r: Ring | null): void {
  if (!r) return;
  for (const e of r.entries) t.add(e.owner);
  for (const d of r.dead) t.add(d);
  for (const d of r.left) t.add(d);
}

function collectClaims(t: StringTable, c: ClaimsMap | null): void {
  if (!c) return;
  for (const [node, claims] of c) {
    t.add(node);
    if (claims.promise) t.add(claims.promise.node);
    if (claims.accepted) t.add(claims.accepted.node);
    for (const v of claims.value ?? []) t.add(v);
  }
}

function writeRingId(w: ByteWriter, id: string): void {
  w.bytes(Buffer.from(id, 'hex'));
}

function writeRing(w: ByteWriter, t: StringTable, r: Ring): void {
  writeRingId(w, r.id);
  w.u32(r.start);
  w.u32(r.end - r.start - 1);
  w.varint(r.entries.length);
  for (const e of r.entries) {
    w.u32(e.token).varint(t.add(e.owner)).varint(e.version).varint(e.free);
  }
  for (const list of [r.dead, r.left]) {
    w.varint(list.length);
    for (const d of list) w.varint(t.add(d));
  }
}

function writeBallot(w: ByteWriter, t: StringTable, b: Ballot | null): void {
  // Round 0 means "no ballot": real rounds start at 1.
  if (!b) w.varint(0);
  else w.varint(b.round).varint(t.add(b.node));
}

function writeClaims(w: ByteWriter, t: StringTable, c: ClaimsMap): void {
  w.varint(c.size);
  for (const [node, claims] of c) {
    w.varint(t.add(node)).varint(claims.version).varint(claims.quorum);
    writeBallot(w, t, claims.promise);
    writeBallot(w, t, claims.accepted);
    const value = claims.accepted ? (claims.value ?? []) : [];
    w.varint(value.length);
    for (const v of value) w.varint(t.add(v));
  }
}

export function encodeMessage(m: IpamMessage): Uint8Array {
  const t = new StringTable();
  t.add(m.from);
  // The body is written first into its own buffer so the string table (which
  // the body fills) can precede it.
  const body = new ByteWriter();
  switch (m.tag) {
    case IpamTag.State:
      collectRing(t, m.ring);
      collectClaims(t, m.consensus);
      body.u8((m.ring ? 1 : 0) | (m.consensus ? 2 : 0));
      if (m.ring) writeRing(body, t, m.ring);
      if (m.consensus) writeClaims(body, t, m.consensus);
      break;
    case IpamTag.SpaceRequest:
      body.u32(m.reqId).varint(t.add(m.to));
      writeRingId(body, m.ringId);
      body.u32(cidrNetwork(m.subnet)).u8(m.subnet.prefix);
      break;
    case IpamTag.SpaceReply:
      body.u32(m.reqId).u8((m.granted ? 1 : 0) | (m.ring ? 2 : 0));
      if (m.ring) writeRing(body, t, m.ring);
      break;
    case IpamTag.ClaimRequest:
      body.u32(m.reqId).varint(t.add(m.to));
      writeRingId(body, m.ringId);
      body.u32(m.addr);
      break;
    case IpamTag.ClaimReply:
      body
        .u32(m.reqId)
        .u8(CLAIM_OUTCOMES.indexOf(m.outcome))
        .u8(m.ring ? 1 : 0);
      if (m.ring) writeRing(body, t, m.ring);
      break;
  }
  const w = new ByteWriter();
  w.u8(0x57).u8(0x49).u8(IPAM_WIRE_VERSION).u8(m.tag);
  w.varint(t.list.length);
  for (const s of t.list) w.str8(s);
  w.varint(0); // sender = first string
  w.bytes(body.finish());
  return w.finish();
}

// ---------------------------------------------------------------------------
// Decoding

class Decoder {
  readonly r: ByteReader;
  strings: string[] = [];
  limit: string | null = null;
  constructor(bytes: Uint8Array) {
    this.r = new ByteReader(bytes);
  }
  tooMany(what: string): void {
    this.limit ??= what;
    this.r.fail(`limit: ${what}`);
  }
  str(what: string): string {
    const i = this.r.varint(what);
    const s = this.strings[i];
    if (s === undefined) {
      this.r.fail(`${what}: string index out of table`);
      return '';
    }
    return s;
  }
  ringId(): string {
    return Buffer.from(this.r.bytes(8, 'ring id')).toString('hex');
  }
  ring(): Ring | null {
    const r = this.r;
    const id = this.ringId();
    const start = r.u32('range start');
    const end = start + r.u32('range size') + 1;
    const n = r.varint('entry count');
    if (n > MAX_RING_ENTRIES || n * 7 > r.remaining) {
      this.tooMany('ring entries');
      return null;
    }
    const entries: RingEntry[] = new Array(n);
    for (let i = 0; i < n && !r.failure; i++) {
      const token = r.u32('token');
      const owner = this.str('owner');
      const version = r.varint('version');
      const free = r.varint('free');
      entries[i] = { token, owner, version, free };
    }
    const dead = this.ownerList('dead owner');
    const left = this.ownerList('departed owner');
    if (r.failure || !dead || !left) return null;
    const ring: Ring = { id, start, end, entries, dead, left };
    const bad = ringViolation(ring);
    if (bad) {
      r.fail(`invalid ring: ${bad}`);
      return null;
    }
    return ring;
  }
  ownerList(what: string): OwnerId[] | null {
    const n = this.r.varint(`${what} count`);
    if (n > MAX_DEAD_OWNERS || n > this.r.remaining) {
      this.tooMany(`${what}s`);
      return null;
    }
    const out: OwnerId[] = [];
    for (let i = 0; i < n && !this.r.failure; i++) out.push(this.str(what));
    return out;
  }
  ballot(what: string): Ballot | null {
    const round = this.r.varint(`${what} round`);
    if (round === 0) return null;
    return { round, node: this.str(`${what} node`) };
  }
  claims(): Map<OwnerId, NodeClaims> | null {
    const r = this.r;
    const n = r.varint('node count');
    if (n > MAX_CONSENSUS_NODES || n > r.remaining) {
      this.tooMany('consensus nodes');
      return null;
    }
    const out = new Map<OwnerId, NodeClaims>();
    for (let i = 0; i < n && !r.failure; i++) {
      const node = this.str('node');
      const version = r.varint('claims version');
      const quorum = r.varint('quorum');
      const promise = this.ballot('promise');
      const accepted = this.ballot('accepted');
      const nv = r.varint('value size');
      if (nv > MAX_CONSENSUS_NODES || nv > r.remaining) {
        this.tooMany('value size');
        return null;
      }
      const value: OwnerId[] = [];
      for (let k = 0; k < nv && !r.failure; k++) value.push(this.str('value member'));
      if (r.failure) return null;
      if (version < 1 || quorum < 1 || quorum > MAX_CONSENSUS_NODES) r.fail('claims out of bounds');
      if ((accepted === null) !== (value.length === 0)) r.fail('accepted ballot and value disagree');
      if (out.has(node)) r.fail('node listed twice');
      for (let k = 1; k < value.length; k++) if (value[k - 1]! >= value[k]!) r.fail('value not sorted');
      out.set(node, { version, quorum, promise, accepted, value: accepted ? value : null });
    }
    return r.failure ? null : out;
  }
}

function kindOf(reason: string): DecodeErrorKind {
  if (reason.startsWith('truncated')) return 'truncated';
  if (reason.startsWith('limit')) return 'limit';
  return 'invalid';
}

export function decodeMessage(bytes: Uint8Array): Result<IpamMessage, IpamDecodeError> {
  if (bytes.length > MAX_IPAM_MESSAGE) return err({ kind: 'limit', message: 'message too large' });
  if (bytes.length < 4) return err({ kind: 'truncated', message: 'shorter than the header' });
  if (bytes[0] !== 0x57 || bytes[1] !== 0x49)
    return err({ kind: 'bad-magic', message: 'not an IPAM message' });
  if (bytes[2] !== IPAM_WIRE_VERSION) {
    return err({
      kind: 'unsupported-version',
      message: `IPAM wire version ${bytes[2]} (we speak ${IPAM_WIRE_VERSION})`,
    });
  }
  const tag = bytes[3]!;
  const d = new Decoder(bytes.subarray(4));
  const r = d.r;
  const ns = r.varint('string count');
  if (ns > MAX_STRINGS || ns > r.remaining) return err({ kind: 'limit', message: 'too many strings' });
  for (let i = 0; i < ns && !r.failure; i++) {
    const s = r.str8('owner id');
    if (!r.failure && !isValidOwnerId(s)) r.fail(`not an owner id: ${JSON.stringify(s.slice(0, 80))}`);
    d.strings.push(s);
  }
  const from = d.str('sender');
  let m: IpamMessage | null = null;
  switch (tag) {
    case IpamTag.State: {
      const flags = r.u8('flags');
      if (flags & ~3) r.fail('unknown state flags');
      const ring = flags & 1 ? d.ring() : null;
      const consensus = flags & 2 ? d.claims() : null;
      m = { tag, from, ring, consensus };
      break;
    }
    case IpamTag.SpaceRequest: {
      const reqId = r.u32('request id');
      const to = d.str('target');
      const ringId = d.ringId();
      const addr = r.u32('subnet');
      const prefix = r.u8('prefix');
      if (prefix > 32) r.fail('prefix over 32');
      const subnet = { addr, prefix };
      if (!r.failure && cidrNetwork(subnet) !== addr) r.fail('subnet has host bits');
      m = { tag, from, reqId, to, ringId, subnet };
      break;
    }
    case IpamTag.SpaceReply: {
      const reqId = r.u32('request id');
      const flags = r.u8('flags');
      if (flags & ~3) r.fail('unknown reply flags');
      const ring = flags & 2 ? d.ring() : null;
      m = { tag, from, reqId, granted: (flags & 1) === 1, ring };
      break;
    }
    case IpamTag.ClaimRequest: {
      const reqId = r.u32('request id');
      const to = d.str('target');
      const ringId = d.ringId();
      const addr = r.u32('address');
      m = { tag, from, reqId, to, ringId, addr };
      break;
    }
    case IpamTag.ClaimReply: {
      const reqId = r.u32('request id');
      const outcome = CLAIM_OUTCOMES[r.u8('outcome')];
      if (outcome === undefined) r.fail('unknown claim outcome');
      const hasRing = r.u8('flags');
      if (hasRing > 1) r.fail('unknown reply flags');
      const ring = hasRing ? d.ring() : null;
      m = { tag, from, reqId, outcome: outcome ?? 'not-owner', ring };
      break;
    }
    default:
      return err({ kind: 'unknown-tag', message: `unknown IPAM message tag ${tag}` });
  }
  if (!r.failure && r.remaining !== 0) r.fail('trailing bytes');
  if (r.failure) return err({ kind: kindOf(r.failure), message: r.failure });
  return ok(m);
}

/** A ring on its own (for the data dir): a State message from its first owner. */
export function encodeRing(ring: Ring): Uint8Array {
  return encodeMessage({ tag: IpamTag.State, from: ring.entries[0]!.owner, ring, consensus: null });
}

export function decodeRing(bytes: Uint8Array): Result<Ring, IpamDecodeError> {
  const d = decodeMessage(bytes);
  if (!d.ok) return d;
  if (d.value.tag !== IpamTag.State || !d.value.ring) return err({ kind: 'invalid', message: 'not a ring' });
  return ok(d.value.ring);
}
