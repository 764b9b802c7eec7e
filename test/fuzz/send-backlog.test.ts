/**
 * Hardening (issue 7): every per-connection send queue is bounded. A peer
 * that stops reading (stalled, or hostile) makes its stream's unsent bytes
 * grow; past the driver's cap the stream is closed instead of buffering
 * without end, and the core learns why.
 */
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../common/clock.js';
import { SeededRandom } from '../../common/random.js';
import { MeshDriver, type Scheduler } from '../../router/mesh/driver.js';
import type { Stream, StreamCloseReason, StreamTransport } from '../../router/transport/stream.js';
import { encodeFrame } from '../../router/wire/framing.js';
import { encodeIntro } from '../../router/wire/intro.js';
import { encodeMessage } from '../../router/wire/messages.js';
import { MessageTag } from '../../router/wire/tags.js';
import { hello } from './support/mesh-fixtures.js';

class FakeStream implements Stream {
  readonly remoteAddress = '198.18.0.2:40000';
  readonly localAddress = '198.18.0.1:6783';
  bufferedBytes = 0;
  written = 0;
  closed = false;
  private data: ((b: Uint8Array) => void) | undefined;
  write(bytes: Uint8Array): boolean {
    if (this.closed) return false;
    this.written += bytes.length;
    return true;
  }
  onData(cb: (b: Uint8Array) => void): void {
    this.data = cb;
  }
  onClose(_cb: (r: StreamCloseReason) => void): void {}
  close(): void {
    this.closed = true;
  }
  receive(b: Uint8Array): void {
    this.data?.(b);
  }
}

describe('send backlog cap', () => {
  it('closes a connection whose peer stops reading once its backlog passes the cap', async () => {
    let accept: ((s: Stream) => void) | undefined;
    const transport: StreamTransport = {
      dial: () => new Promise(() => {}),
      listen: async (address, onStream) => {
        accept = onStream;
        return { address, close: async () => {} };
      },
    };
    const timers = new Map<number, () => void>();
    let nextTimer = 0;
    const scheduler: Scheduler = {
      setTimeout: (fn) => {
        timers.set(++nextTimer, fn);
        return nextTimer;
      },
      clearTimeout: (h) => timers.delete(h as number),
    };
    const driver = new MeshDriver({
      name: '02:00:00:00:00:01',
      nickname: 'a',
      listenPort: 6783,
      clock: new ManualClock(0),
      random: new SeededRandom(1),
      transport,
      scheduler,
      maxSendBacklogBytes: 1 << 20,
    });
    await driver.listen('198.18.0.1:6783');
    driver.start();
    const s = new FakeStream();
    accept!(s);
    s.receive(encodeIntro({ minVersion: 1, maxVersion: 1, encryption: false }));
    s.receive(encodeFrame(encodeMessage({ tag: MessageTag.Hello, hello: hello('02:00:00:00:00:02') })));
    expect(driver.router.connectedPeers()).toEqual(['02:00:00:00:00:02']);
    const before = s.written;
    // Healthy: writes go through.
    for (const fn of [...timers.values()]) fn();
    expect(s.written).toBeGreaterThan(before);
    expect(s.closed).toBe(false);
    // The peer stops reading: the next write would pass the cap.
    s.bufferedBytes = (1 << 20) - 4;
    const stuck = s.written;
    for (const fn of [...timers.values()]) fn();
    await new Promise((r) => queueMicrotask(() => r(undefined)));
    expect(s.written).toBe(stuck);
    expect(s.closed).toBe(true);
    expect(driver.router.connectedPeers()).toEqual([]);
    const conns = driver.router.report().connections;
    expect(conns.filter((c) => c.state !== 'dialing')).toEqual([]);
    await driver.stop();
  });
});
