import { nullLogger } from '../../../common/logger.js';
import { SeededRandom } from '../../../common/random.js';
import { createHandshake, handshakePrologue } from '../../../crypto/handshake.js';
import { type ConnectionHost, MeshConnection } from '../../../router/mesh/connection.js';
import { encodeFrame } from '../../../router/wire/framing.js';
import { encodeIntro, type Intro } from '../../../router/wire/intro.js';
import { encodeMessage } from '../../../router/wire/messages.js';
import { MessageTag } from '../../../router/wire/tags.js';
import { hello } from '../support/mesh-fixtures.js';
import { check, type FuzzTarget } from './target.js';

const PSK = new Uint8Array(32).fill(7);
const introOf = (encryption: boolean): Intro => ({ minVersion: 1, maxVersion: 1, encryption });
const frame = (m: Parameters<typeof encodeMessage>[0]) => encodeFrame(encodeMessage(m));

/**
 * A whole mesh connection's receive path, as any host that can reach port
 * 6783 drives it before (and, without a password, after) authentication:
 * intro, framing, handshake, hello, messages, in arbitrary chunks.
 * Input: [mode (bit 0: we have a password; bit 1: we dialled), chunking seed, stream…].
 */
export const target: FuzzTarget = {
  name: 'mesh-connection',
  decoder: 'router/mesh/connection.ts MeshConnection.receive (intro, frames, handshake, hello, messages)',
  maxLen: 4096,
  seeds: () => {
    const plain = [
      encodeIntro(introOf(false)),
      frame({ tag: MessageTag.Hello, hello: hello('02:00:00:00:00:02') }),
      frame({ tag: MessageTag.Heartbeat }),
      frame({ tag: MessageTag.Gossip, channel: 'topology', payload: Uint8Array.of(0x92, 0, 0x90) }),
      frame({ tag: MessageTag.OverlayControl, payload: Uint8Array.of(1, 2, 0, 0) }),
      frame({ tag: MessageTag.Refuse, reason: 'shutdown', message: 'bye' }),
    ];
    // With a password, as the acceptor: a genuine msg1 for our (deterministic) intro pair.
    const theirs = encodeIntro(introOf(true));
    const initiator = createHandshake({
      initiator: true,
      psk: PSK,
      prologue: handshakePrologue(theirs, encodeIntro(introOf(true))),
      random: new SeededRandom(9),
    });
    const msg1 = frame({ tag: MessageTag.Handshake, payload: initiator.next()! });
    const cat = (parts: Uint8Array[]) => Uint8Array.from(parts.flatMap((p) => [...p]));
    return [
      Uint8Array.of(0, 5, ...cat(plain)),
      Uint8Array.of(2, 1, ...cat(plain.slice(0, 3))),
      Uint8Array.of(1, 7, ...theirs, ...msg1),
      Uint8Array.of(0, 3, ...encodeIntro({ minVersion: 2, maxVersion: 4, encryption: false })),
    ];
  },
  run(data) {
    if (data.length < 2) return;
    const encrypted = (data[0]! & 1) === 1;
    const outbound = (data[0]! & 2) === 2;
    let closes = 0;
    let writesAfterClose = 0;
    const timers = new Map<string, number>();
    const host: ConnectionHost = {
      write: (c) => {
        if (c.state === 'closed') writesAfterClose++;
      },
      closeStream: () => {},
      setTimer: (k, d) => timers.set(k, d),
      cancelTimer: (k) => timers.delete(k),
      now: () => 1000,
      helloReceived: (_c, h) =>
        h.name === '02:00:00:00:00:01'
          ? { accept: false, reason: 'self', message: 'self' }
          : { accept: true },
      message: () => {},
      closed: () => {
        closes++;
      },
    };
    const conn = new MeshConnection(host, {
      id: 1,
      outbound,
      remoteAddress: '198.18.0.2:40000',
      intro: introOf(encrypted),
      psk: encrypted ? PSK : null,
      hello: hello('02:00:00:00:00:01'),
      random: new SeededRandom(10),
      logger: nullLogger,
      timing: { setupTimeoutMs: 10_000, heartbeatIntervalMs: 30_000, readDeadlineMs: 60_000 },
    });
    conn.start();
    let seed = data[1]! | 1;
    const stream = data.subarray(2);
    for (let off = 0; off < stream.length; ) {
      seed = (seed * 73 + 41) & 0xff;
      const n = Math.min(stream.length - off, 1 + (seed % 61));
      conn.receive(stream.subarray(off, off + n));
      off += n;
    }
    check(conn.bytesIn <= stream.length, 'counted more bytes than received');
    if (conn.state === 'prepared') conn.markEstablished();
    for (const k of [...timers.keys()]) conn.timer(k);
    check(
      closes === (conn.state === 'closed' ? 1 : 0),
      `closed() called ${closes} times in state ${conn.state}`,
    );
    check(writesAfterClose === 0, 'wrote after closing');
  },
};
