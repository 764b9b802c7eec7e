/**
 * The topology gossip payload (channel "topology"): a MessagePack array of peer
 * records. This is what every router knows about every other: who it is, its
 * version, and its connections. Records are immutable values; each one's
 * encoding is cached, and a payload is built by concatenating cached
 * encodings behind an array header, so gossiping the full state of 1000
 * peers does not re-encode 1000 records.
 *
 *   payload    = [ record, record, ... ]                       (≤ MAX_PEERS)
 *   record     = [ name, nickname, uid (8 bytes BE), version,
 *                  shortId | nil, [ conn, conn, ... ] ]        (≤ MAX_CONNECTIONS)
 *   conn       = [ remote name, address "host:port", flags ]
 *   flags      : bit 0 outbound (the record's owner dialled), bit 1 established
 */
import type { Result } from '../../common/result.js';
import type { DecodeError } from './errors.js';
import { MAX_NICKNAME } from './messages.js';
import { arrayHeader, Fields, pack, u64Bytes, unpackWith } from './msgpack.js';

export const MAX_PEERS = 1 << 16;
export const MAX_CONNECTIONS = 4096;
export const MAX_ADDRESS = 300;

export interface ConnectionRecord {
  /** The peer at the other end. */
  readonly remote: string;
  /** Its mesh address "host:port" (dialable: for inbound connections, its IP and announced port). */
  readonly address: string;
  /** The record's owner dialled this connection. */
  readonly outbound: boolean;
  /** The overlay reports data can flow. */
  readonly established: boolean;
}

export interface PeerRecord {
  readonly name: string;
  readonly nickname: string;
  /** 64-bit, random per process start. */
  readonly uid: bigint;
  /** Bumped by the owner on every change; with uid orders records of one name. */
  readonly version: number;
  readonly shortId: number | null;
  /** Sorted by remote name, at most one per remote. */
  readonly connections: readonly ConnectionRecord[];
}

const encodedCache = new WeakMap<PeerRecord, Uint8Array>();

export function encodeRecord(r: PeerRecord): Uint8Array {
  let e = encodedCache.get(r);
  if (!e) {
    e = pack([
      r.name,
      r.nickname,
      u64Bytes(r.uid),
      r.version,
      r.shortId,
      r.connections.map((c) => [c.remote, c.address, (c.outbound ? 1 : 0) | (c.established ? 2 : 0)]),
    ]);
    encodedCache.set(r, e);
  }
  return e;
}

export function encodeTopology(records: Iterable<PeerRecord>): Uint8Array {
  const parts: Uint8Array[] = [];
  let size = 0;
  for (const r of records) {
    const e = encodeRecord(r);
    parts.push(e);
    size += e.length;
  }
  const header = arrayHeader(parts.length);
  const out = new Uint8Array(header.length + size);
  out.set(header, 0);
  let off = header.length;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

function readConnection(v: unknown): ConnectionRecord {
  const f = Fields.of(v, 'connection', 3, 3 + 4);
  const flags = f.int(2, 0, 255);
  return {
    remote: f.peerName(0),
    address: f.str(1, MAX_ADDRESS),
    outbound: (flags & 1) !== 0,
    established: (flags & 2) !== 0,
  };
}

function readRecord(v: unknown): PeerRecord {
  const f = Fields.of(v, 'peer', 6, 6 + 4);
  const name = f.peerName(0);
  const connections = f.array(5, MAX_CONNECTIONS).map(readConnection);
  // Canonical form: sorted by remote, no duplicates, never a connection to itself.
  connections.sort((a, b) => (a.remote < b.remote ? -1 : a.remote > b.remote ? 1 : 0));
  const unique: ConnectionRecord[] = [];
  for (const c of connections) {
    if (c.remote === name) continue;
    if (unique.length > 0 && unique[unique.length - 1]!.remote === c.remote) continue;
    unique.push(c);
  }
  return {
    name,
    nickname: f.str(1, MAX_NICKNAME),
    uid: f.u64(2),
    version: f.int(3, 0, Number.MAX_SAFE_INTEGER),
    shortId: f.optInt(4, 0, 4095),
    connections: unique,
  };
}

export function decodeTopology(bytes: Uint8Array): Result<PeerRecord[], DecodeError> {
  return unpackWith(bytes, (v) => Fields.list(v, 'topology', MAX_PEERS).map(readRecord));
}
