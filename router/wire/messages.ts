/**
 * Mesh messages: a frame body is one tag byte followed by the message's body.
 *
 *  +---------+--------------------------------------------------------+
 *  | tag u8  | body                                                   |
 *  +---------+--------------------------------------------------------+
 *  Heartbeat        : empty
 *  Handshake        : the Noise message bytes, as they are
 *  OverlayControl   : the overlay's opaque bytes, as they are
 *  everything else  : one MessagePack array, fields by position (below)
 *
 * Field lists (docs/protocol.md draws them). Decoders accept extra trailing
 * fields (a later version may append) but never fewer, and check every type,
 * length and range; they return a typed error, never throw.
 */
import type { Result } from '../../common/result.js';
import { err, ok } from '../../common/result.js';
import { type DecodeError, decodeError } from './errors.js';
import { Fields, pack, u64Bytes, unpackWith } from './msgpack.js';
import { isMessageTag, MessageTag } from './tags.js';

export const MAX_NICKNAME = 64;
export const MAX_CHANNEL_NAME = 32;
export const MAX_SOFTWARE_VERSION = 64;
export const MAX_REFUSE_MESSAGE = 512;
/** Room for extension fields a later version may append to a message. */
const SPARE_FIELDS = 8;

export const CHANNEL_NAME_RE = /^[a-z0-9][a-z0-9._-]{0,31}$/;

export interface Hello {
  /** Peer name, "xx:xx:xx:xx:xx:xx". */
  name: string;
  nickname: string;
  /** Random per process start (distinguishes incarnations, detects name collisions). */
  uid: bigint;
  /** Random per connection; XOR of both sides' ids is the connection's id (duplicate tie-break). */
  connId: bigint;
  /** The mesh TCP port we listen on, so the other side can record a dialable address. */
  listenPort: number;
  /** Software version, for reports. */
  software: string;
  /** 12-bit short id, if this peer has one. */
  shortId: number | null;
}

/** Why a side closes a connection; unknown reasons from newer peers decode as 'other'. */
export const REFUSE_REASONS = [
  'version',
  'encryption-required',
  'encryption-unsupported',
  'name-collision',
  'self',
  'duplicate',
  'incarnation',
  'conn-limit',
  'protocol',
  'shutdown',
  'timeout',
  'other',
] as const;
export type RefuseReason = (typeof REFUSE_REASONS)[number];

export type Message =
  | { tag: MessageTag.Heartbeat }
  | { tag: MessageTag.Hello; hello: Hello }
  | { tag: MessageTag.Gossip; channel: string; payload: Uint8Array }
  | { tag: MessageTag.GossipUnicast; channel: string; src: string; dst: string; payload: Uint8Array }
  | {
      tag: MessageTag.GossipBroadcast;
      channel: string;
      src: string;
      /** Random per process start of `src`; with `seq` identifies the broadcast (duplicate suppression). */
      incarnation: number;
      seq: number;
      payload: Uint8Array;
    }
  | { tag: MessageTag.OverlayControl; payload: Uint8Array }
  | { tag: MessageTag.Handshake; payload: Uint8Array }
  | { tag: MessageTag.Refuse; reason: RefuseReason; message: string };

const U32 = 0xffffffff;

function withTag(tag: MessageTag, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(1 + body.length);
  out[0] = tag;
  out.set(body, 1);
  return out;
}

export function encodeMessage(m: Message): Uint8Array {
  switch (m.tag) {
    case MessageTag.Heartbeat:
      return Uint8Array.of(m.tag);
    case MessageTag.Handshake:
    case MessageTag.OverlayControl:
      return withTag(m.tag, m.payload);
    case MessageTag.Hello: {
      const h = m.hello;
      return withTag(
        m.tag,
        pack([h.name, h.nickname, u64Bytes(h.uid), u64Bytes(h.connId), h.listenPort, h.software, h.shortId]),
      );
    }
    case MessageTag.Gossip:
      return withTag(m.tag, pack([m.channel, m.payload]));
    case MessageTag.GossipUnicast:
      return withTag(m.tag, pack([m.channel, m.src, m.dst, m.payload]));
    case MessageTag.GossipBroadcast:
      return withTag(m.tag, pack([m.channel, m.src, m.incarnation, m.seq, m.payload]));
    case MessageTag.Refuse:
      return withTag(m.tag, pack([m.reason, m.message.slice(0, MAX_REFUSE_MESSAGE)]));
  }
}

export function decodeMessage(body: Uint8Array, maxPayload: number): Result<Message, DecodeError> {
  if (body.length === 0) return err(decodeError('truncated', 'empty message'));
  const tag = body[0]!;
  if (!isMessageTag(tag)) return err(decodeError('unknown-tag', `unknown message tag ${tag}`));
  const rest = body.subarray(1);
  switch (tag) {
    case MessageTag.Heartbeat:
      return ok({ tag });
    case MessageTag.Handshake:
    case MessageTag.OverlayControl:
      return ok({ tag, payload: rest });
    case MessageTag.Hello:
      return unpackWith(rest, (v) => {
        const f = Fields.of(v, 'hello', 7, 7 + SPARE_FIELDS);
        const hello: Hello = {
          name: f.peerName(0),
          nickname: f.str(1, MAX_NICKNAME),
          uid: f.u64(2),
          connId: f.u64(3),
          listenPort: f.int(4, 0, 65535),
          software: f.str(5, MAX_SOFTWARE_VERSION),
          shortId: f.optInt(6, 0, 4095),
        };
        return { tag, hello };
      });
    case MessageTag.Gossip:
      return unpackWith(rest, (v) => {
        const f = Fields.of(v, 'gossip', 2, 2 + SPARE_FIELDS);
        return { tag, channel: f.token(0, MAX_CHANNEL_NAME, CHANNEL_NAME_RE), payload: f.bin(1, maxPayload) };
      });
    case MessageTag.GossipUnicast:
      return unpackWith(rest, (v) => {
        const f = Fields.of(v, 'gossip-unicast', 4, 4 + SPARE_FIELDS);
        return {
          tag,
          channel: f.token(0, MAX_CHANNEL_NAME, CHANNEL_NAME_RE),
          src: f.peerName(1),
          dst: f.peerName(2),
          payload: f.bin(3, maxPayload),
        };
      });
    case MessageTag.GossipBroadcast:
      return unpackWith(rest, (v) => {
        const f = Fields.of(v, 'gossip-broadcast', 5, 5 + SPARE_FIELDS);
        return {
          tag,
          channel: f.token(0, MAX_CHANNEL_NAME, CHANNEL_NAME_RE),
          src: f.peerName(1),
          incarnation: f.int(2, 0, U32),
          seq: f.int(3, 0, Number.MAX_SAFE_INTEGER),
          payload: f.bin(4, maxPayload),
        };
      });
    case MessageTag.Refuse:
      return unpackWith(rest, (v) => {
        const f = Fields.of(v, 'refuse', 2, 2 + SPARE_FIELDS);
        const r = f.str(0, 64);
        const reason: RefuseReason = (REFUSE_REASONS as readonly string[]).includes(r)
          ? (r as RefuseReason)
          : 'other';
        return { tag, reason, message: f.str(1, MAX_REFUSE_MESSAGE) };
      });
  }
}
