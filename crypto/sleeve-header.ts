/**
 * The sleeve packet header: fixed 28 bytes so the native engine parses it at
 * fixed offsets (layout drawn in docs/protocol.md, "Sleeve: UDP packet envelope").
 *
 *   0 version | 1 type | 2 flags | 3 reserved | 4..8 key id | 8..16 counter (BE)
 *   16..22 sender peer name | 22..28 receiver peer name | 28.. body
 *
 * Decoding never throws: hostile bytes give a typed error.
 */
import type { Result } from '../common/result.js';
import { err, ok } from '../common/result.js';

export const SLEEVE_VERSION = 1;
export const SLEEVE_HEADER_BYTES = 28;
/** Largest UDP payload over IPv4 (65535 − 20 IP − 8 UDP). */
export const SLEEVE_MAX_DATAGRAM = 65507;
export const PEER_NAME_BYTES = 6;

/** Packet types: one enum for the sleeve; the data plane appends new ones here. */
export const SleeveType = {
  Frames: 1,
  Heartbeat: 2,
  HeartbeatAck: 3,
  PmtuProbe: 4,
  PmtuAck: 5,
} as const;
export type SleeveType = (typeof SleeveType)[keyof typeof SleeveType];
const KNOWN_TYPES: ReadonlySet<number> = new Set(Object.values(SleeveType));

export const SLEEVE_FLAG_SEALED = 0x01;
const KNOWN_FLAGS = SLEEVE_FLAG_SEALED;

const OFF_VERSION = 0;
const OFF_TYPE = 1;
const OFF_FLAGS = 2;
const OFF_RESERVED = 3;
const OFF_KEY_ID = 4;
export const OFF_COUNTER = 8;
const OFF_SENDER = 16;
const OFF_RECEIVER = 22;

export interface SleeveHeader {
  type: SleeveType;
  sealed: boolean;
  /** 32-bit unsigned; 0 on plain packets. */
  keyId: number;
  /** 64-bit unsigned. */
  counter: bigint;
  sender: Uint8Array;
  receiver: Uint8Array;
}

export type SleeveHeaderError =
  | { kind: 'too-short'; message: string }
  | { kind: 'too-long'; message: string }
  | { kind: 'bad-version'; message: string }
  | { kind: 'unknown-type'; message: string }
  | { kind: 'malformed'; message: string };

export function isSleeveType(n: number): n is SleeveType {
  return KNOWN_TYPES.has(n);
}

/** Writes the 28-byte header into `out` at offset 0. */
export function writeSleeveHeader(out: Uint8Array, h: SleeveHeader): void {
  if (out.length < SLEEVE_HEADER_BYTES) throw new RangeError('sleeve header: buffer too small');
  if (!isSleeveType(h.type)) throw new RangeError(`sleeve header: unknown type ${h.type}`);
  if (h.sender.length !== PEER_NAME_BYTES || h.receiver.length !== PEER_NAME_BYTES) {
    throw new RangeError('sleeve header: peer names are 6 bytes');
  }
  if (h.counter < 0n || h.counter >= 1n << 64n) throw new RangeError('sleeve header: counter out of range');
  if (!Number.isInteger(h.keyId) || h.keyId < 0 || h.keyId > 0xffffffff) {
    throw new RangeError('sleeve header: key id out of range');
  }
  const view = new DataView(out.buffer, out.byteOffset, SLEEVE_HEADER_BYTES);
  view.setUint8(OFF_VERSION, SLEEVE_VERSION);
  view.setUint8(OFF_TYPE, h.type);
  view.setUint8(OFF_FLAGS, h.sealed ? SLEEVE_FLAG_SEALED : 0);
  view.setUint8(OFF_RESERVED, 0);
  view.setUint32(OFF_KEY_ID, h.keyId, false);
  view.setBigUint64(OFF_COUNTER, h.counter, false);
  out.set(h.sender, OFF_SENDER);
  out.set(h.receiver, OFF_RECEIVER);
}

export function decodeSleeveHeader(packet: Uint8Array): Result<SleeveHeader, SleeveHeaderError> {
  if (packet.length < SLEEVE_HEADER_BYTES) {
    return err({
      kind: 'too-short',
      message: `sleeve packet of ${packet.length} bytes is shorter than its header`,
    });
  }
  if (packet.length > SLEEVE_MAX_DATAGRAM) {
    return err({
      kind: 'too-long',
      message: `sleeve packet of ${packet.length} bytes exceeds ${SLEEVE_MAX_DATAGRAM}`,
    });
  }
  const view = new DataView(packet.buffer, packet.byteOffset, SLEEVE_HEADER_BYTES);
  const version = view.getUint8(OFF_VERSION);
  if (version !== SLEEVE_VERSION) return err({ kind: 'bad-version', message: `sleeve version ${version}` });
  const type = view.getUint8(OFF_TYPE);
  if (!isSleeveType(type)) return err({ kind: 'unknown-type', message: `sleeve packet type ${type}` });
  const flags = view.getUint8(OFF_FLAGS);
  if ((flags & ~KNOWN_FLAGS) !== 0)
    return err({ kind: 'malformed', message: `unknown sleeve flags 0x${flags.toString(16)}` });
  if (view.getUint8(OFF_RESERVED) !== 0)
    return err({ kind: 'malformed', message: 'sleeve reserved byte is not 0' });
  const sealed = (flags & SLEEVE_FLAG_SEALED) !== 0;
  const keyId = view.getUint32(OFF_KEY_ID, false);
  if (!sealed && keyId !== 0) return err({ kind: 'malformed', message: 'plain sleeve packet with a key id' });
  return ok({
    type,
    sealed,
    keyId,
    counter: view.getBigUint64(OFF_COUNTER, false),
    sender: packet.slice(OFF_SENDER, OFF_SENDER + PEER_NAME_BYTES),
    receiver: packet.slice(OFF_RECEIVER, OFF_RECEIVER + PEER_NAME_BYTES),
  });
}

/** "aa:bb:cc:dd:ee:ff" → 6 bytes, or null if it is not a peer name. */
export function peerNameToBytes(name: string): Uint8Array | null {
  if (!/^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/.test(name)) return null;
  return new Uint8Array(name.split(':').map((h) => Number.parseInt(h, 16)));
}

export function peerNameFromBytes(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(':');
}
