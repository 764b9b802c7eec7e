/**
 * The topology gossip payload (channel "topology"): peer records, and digests
 * for cheap anti-entropy. Records are immutable values; each one's encoding
 * is cached, and a payload is built by concatenating cached encodings behind
 * an array header, so sending the full state of 1000 peers does not re-encode
 * 1000 records.
 *
 *   payload = [0, [record, ...]]           update: records (a broadcast, or full state to a new neighbour)
 *           | [1, digest]                  digest: "this is what I have" (periodic, to a few neighbours)
 *           | [2, [record, ...], digest]   answer to a differing digest: my full state and my digest
 *   record  = [name, nickname, uid (8 bytes BE), version, shortId | nil, [conn, ...]]   (≤ MAX_PEERS records)
 *   conn    = [remote name, address "host:port", flags]                               (≤ MAX_CONNECTIONS)
 *   flags   : bit 0 outbound (the record's owner dialled), bit 1 established
 *   digest  : string, ≤ 64 characters (count and hashes of name/version/uid of every reachable record)
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
    // A right-sized copy, so the cache does not pin msgpackr's shared output buffer
    // (pack() returns a view into it; Buffer#slice would be a view too).
    e = Uint8Array.from(
      pack([
        r.name,
        r.nickname,
        u64Bytes(r.uid),
        r.version,
        r.shortId,
        r.connections.map((c) => [c.remote, c.address, (c.outbound ? 1 : 0) | (c.established ? 2 : 0)]),
      ]),
    );
    encodedCache.set(r, e);
  }
  return e;
}

export type TopologyMessage =
  | { kind: 'update'; records: PeerRecord[] }
  | { kind: 'digest'; digest: string }
  | { kind: 'answer'; records: PeerRecord[]; digest: string };

export const MAX_DIGEST = 64;

export function encodeTopologyMessage(m: TopologyMessage): Uint8Array {
  switch (m.kind) {
    case 'update':
      return concat([arrayHeader(2), pack(0), encodeRecords(m.records)]);
    case 'digest':
      return pack([1, m.digest]);
    case 'answer':
      return concat([arrayHeader(3), pack(2), encodeRecords(m.records), pack(m.digest)]);
  }
}

export function decodeTopologyMessage(bytes: Uint8Array): Result<TopologyMessage, DecodeError> {
  return unpackWith(bytes, (v): TopologyMessage => {
    const f = Fields.of(v, 'topology', 2, 3 + 4);
    const kind = f.int(0, 0, 2);
    if (kind === 1) return { kind: 'digest', digest: f.str(1, MAX_DIGEST) };
    const records = Fields.list(f.array(1, MAX_PEERS), 'records', MAX_PEERS).map(readRecord);
    if (kind === 0) return { kind: 'update', records };
    return { kind: 'answer', records, digest: f.str(2, MAX_DIGEST) };
  });
}

function concat(parts: Uint8Array[]): Uint8Array {
  let size = 0;
  for (const p of parts) size += p.length;
  const out = new Uint8Array(size);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** Records as one MessagePack array, from their cached encodings. */
export function encodeRecords(records: Iterable<PeerRecord>): Uint8Array {
  const parts: Uint8Array[] = [new Uint8Array(0)];
  for (const r of records) parts.push(encodeRecord(r));
  parts[0] = arrayHeader(parts.length - 1);
  return concat(parts);
}

function readConnection(v: unknown): ConnectionRecord {
  const f = Fields.of(v, 'connection', 3, 3 + 4);
  const flags = f.int(2, 0, 255);
  return {
    remote: f.peerName(0),
    address: f.token(1, MAX_ADDRESS),
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

export function decodeRecords(bytes: Uint8Array): Result<PeerRecord[], DecodeError> {
  return unpackWith(bytes, (v) => Fields.list(v, 'records', MAX_PEERS).map(readRecord));
}
