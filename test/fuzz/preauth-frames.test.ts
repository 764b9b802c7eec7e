/**
 * Hardening (issue 7): before its hello is accepted, a peer — authenticated or
 * not — can make a connection buffer at most MAX_PREAUTH_FRAME_BYTES, not the
 * 8 MiB frame cap of an accepted connection.
 */
import { describe, expect, it } from 'vitest';
import { nullLogger } from '../../common/logger.js';
import { SeededRandom } from '../../common/random.js';
import { type CloseCause, type ConnectionHost, MeshConnection } from '../../router/mesh/connection.js';
import { encodeFrame, MAX_PREAUTH_FRAME_BYTES } from '../../router/wire/framing.js';
import { encodeIntro } from '../../router/wire/intro.js';
import { encodeMessage } from '../../router/wire/messages.js';
import { MessageTag } from '../../router/wire/tags.js';
import { hello } from './support/mesh-fixtures.js';

const lengthHeader = (n: number) => Uint8Array.of(n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);

describe('frame size before authentication', () => {
  function connection(psk: Uint8Array | null) {
    const causes: CloseCause[] = [];
    const writes: Uint8Array[] = [];
    const host: ConnectionHost = {
      write: (_c, b) => writes.push(b),
      closeStream: () => {},
      setTimer: () => {},
      cancelTimer: () => {},
      now: () => 0,
      helloReceived: (c) => {
        c.markPrepared();
        return { accept: true };
      },
      message: () => {},
      closed: (_c, cause) => causes.push(cause),
    };
    const conn = new MeshConnection(host, {
      id: 1,
      outbound: false,
      remoteAddress: '198.18.0.9:5000',
      intro: { minVersion: 1, maxVersion: 1, encryption: psk !== null },
      psk,
      hello: hello('02:00:00:00:00:01'),
      random: new SeededRandom(1),
      logger: nullLogger,
      timing: { setupTimeoutMs: 10_000, heartbeatIntervalMs: 30_000, readDeadlineMs: 60_000 },
    });
    conn.start();
    return { conn, causes };
  }

  for (const psk of [null, new Uint8Array(32).fill(1)]) {
    it(`a frame over ${MAX_PREAUTH_FRAME_BYTES} bytes before the hello closes the connection at its header (${psk ? 'password' : 'no password'})`, () => {
      const { conn, causes } = connection(psk);
      conn.receive(encodeIntro({ minVersion: 1, maxVersion: 1, encryption: psk !== null }));
      conn.receive(lengthHeader(MAX_PREAUTH_FRAME_BYTES + 1));
      expect(conn.state).toBe('closed');
      expect(causes).toEqual([
        { kind: 'protocol', message: expect.stringMatching(/exceeds the 4096-byte cap/) },
      ]);
    });
  }

  it('a frame at the cap is read; after the hello is accepted large frames are fine', () => {
    const { conn, causes } = connection(null);
    conn.receive(encodeIntro({ minVersion: 1, maxVersion: 1, encryption: false }));
    conn.receive(encodeFrame(encodeMessage({ tag: MessageTag.Hello, hello: hello('02:00:00:00:00:02') })));
    expect(conn.state).toBe('prepared');
    const big = encodeFrame(
      encodeMessage({ tag: MessageTag.Gossip, channel: 'x', payload: new Uint8Array(256 * 1024) }),
    );
    conn.receive(big);
    expect(conn.state).toBe('prepared');
    expect(causes).toEqual([]);
  });
});
