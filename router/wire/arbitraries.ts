/** fast-check arbitraries for wire values, shared by the wire and mesh property tests. */
import fc from 'fast-check';
import { type Message, REFUSE_REASONS } from './messages.js';
import { MessageTag } from './tags.js';
import type { PeerRecord } from './topology.js';

const hex2 = fc.integer({ min: 0, max: 255 }).map((n) => n.toString(16).padStart(2, '0'));
export const arbPeerName = fc.array(hex2, { minLength: 6, maxLength: 6 }).map((a) => a.join(':'));
export const arbU64 = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n });
const arbChannel = fc.stringMatching(/^[a-z0-9][a-z0-9._-]{0,31}$/);
const arbBytes = fc.uint8Array({ maxLength: 200 });

export const arbMessage: fc.Arbitrary<Message> = fc.oneof(
  fc.constant<Message>({ tag: MessageTag.Heartbeat }),
  fc
    .record({
      name: arbPeerName,
      nickname: fc.string({ maxLength: 64 }),
      uid: arbU64,
      connId: arbU64,
      listenPort: fc.integer({ min: 0, max: 65535 }),
      software: fc.string({ maxLength: 64 }),
      shortId: fc.option(fc.integer({ min: 0, max: 4095 })),
    })
    .map((hello): Message => ({ tag: MessageTag.Hello, hello })),
  fc
    .record({ channel: arbChannel, payload: arbBytes })
    .map((m): Message => ({ tag: MessageTag.Gossip, ...m })),
  fc
    .record({ channel: arbChannel, src: arbPeerName, dst: arbPeerName, payload: arbBytes })
    .map((m): Message => ({ tag: MessageTag.GossipUnicast, ...m })),
  fc
    .record({
      channel: arbChannel,
      src: arbPeerName,
      incarnation: fc.integer({ min: 0, max: 0xffffffff }),
      seq: fc.maxSafeNat(),
      payload: arbBytes,
    })
    .map((m): Message => ({ tag: MessageTag.GossipBroadcast, ...m })),
  arbBytes.map((payload): Message => ({ tag: MessageTag.OverlayControl, payload })),
  arbBytes.map((payload): Message => ({ tag: MessageTag.Handshake, payload })),
  fc
    .record({ reason: fc.constantFrom(...REFUSE_REASONS), message: fc.string({ maxLength: 512 }) })
    .map((m): Message => ({ tag: MessageTag.Refuse, ...m })),
);

export const arbRecord: fc.Arbitrary<PeerRecord> = fc
  .record({
    name: arbPeerName,
    nickname: fc.string({ maxLength: 64 }),
    uid: arbU64,
    version: fc.maxSafeNat(),
    shortId: fc.option(fc.integer({ min: 0, max: 4095 })),
    connections: fc.uniqueArray(
      fc.record({
        remote: arbPeerName,
        address: fc.string({ maxLength: 40 }),
        outbound: fc.boolean(),
        established: fc.boolean(),
      }),
      { selector: (c) => c.remote, maxLength: 6 },
    ),
  })
  .map((r) => ({
    ...r,
    connections: r.connections
      .filter((c) => c.remote !== r.name)
      .sort((a, b) => (a.remote < b.remote ? -1 : a.remote > b.remote ? 1 : 0)),
  }));
