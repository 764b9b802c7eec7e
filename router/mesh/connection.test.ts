import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../common/clock.js';
import { RecordingLogger } from '../../common/logger.js';
import { SeededRandom } from '../../common/random.js';
import { derivePsk } from '../../crypto/psk.js';
import { INTRO_BYTES, type Intro } from '../wire/intro.js';
import type { Hello, Message } from '../wire/messages.js';
import { MessageTag } from '../wire/tags.js';
import { type CloseCause, type ConnectionHost, type HelloDecision, MeshConnection } from './connection.js';

const TIMING = { setupTimeoutMs: 10_000, heartbeatIntervalMs: 30_000, readDeadlineMs: 60_000 };
const V1: Intro = { minVersion: 1, maxVersion: 1, encryption: false };

interface SideOpts {
  psk?: Uint8Array | null;
  intro?: Partial<Intro>;
  decide?: (h: Hello) => HelloDecision;
}

/** Two connection state machines wired back to back through byte queues, on one manual clock. */
class Pair {
  readonly clock = new ManualClock(0);
  readonly log = new RecordingLogger();
  readonly queues: { a: Uint8Array[]; b: Uint8Array[] } = { a: [], b: [] };
  readonly timers = new Map<string, { side: 'a' | 'b'; at: number }>();
  readonly messages: { a: Message[]; b: Message[] } = { a: [], b: [] };
  readonly causes: { a: CloseCause[]; b: CloseCause[] } = { a: [], b: [] };
  readonly streamClosed = { a: false, b: false };
  readonly a: MeshConnection;
  readonly b: MeshConnection;

  constructor(aOpts: SideOpts = {}, bOpts: SideOpts = {}, seed = 1) {
    const rng = new SeededRandom(seed);
    this.a = this.make('a', true, aOpts, rng.fork());
    this.b = this.make('b', false, bOpts, rng.fork());
  }

  private make(side: 'a' | 'b', outbound: boolean, o: SideOpts, random: SeededRandom): MeshConnection {
    const other = side === 'a' ? 'b' : 'a';
    const host: ConnectionHost = {
      write: (_c, bytes) => this.queues[other].push(bytes),
      closeStream: () => {
        this.streamClosed[side] = true;
      },
      setTimer: (key, delayMs) => this.timers.set(`${side}|${key}`, { side, at: this.clock.now() + delayMs }),
      cancelTimer: (key) => this.timers.delete(`${side}|${key}`),
      now: () => this.clock.now(),
      helloReceived: (c, h) => {
        const d = o.decide ? o.decide(h) : { accept: true as const };
        if (d.accept) c.markPrepared();
        return d;
      },
      message: (_c, m) => this.messages[side].push(m),
      closed: (_c, cause) => this.causes[side].push(cause),
    };
    const hello: Hello = {
      name: side === 'a' ? '02:00:00:00:00:0a' : '02:00:00:00:00:0b',
      nickname: side,
      uid: side === 'a' ? 10n : 11n,
      connId: side === 'a' ? 100n : 200n,
      listenPort: 6783,
      software: 'test',
      shortId: null,
    };
    return new MeshConnection(host, {
      id: side === 'a' ? 1 : 2,
      outbound,
      remoteAddress: `${other}:1`,
      intro: { ...V1, encryption: !!o.psk, ...o.intro },
      psk: o.psk ?? null,
      hello,
      random,
      logger: this.log,
      timing: TIMING,
    });
  }

  start(): this {
    this.a.start();
    this.b.start();
    return this;
  }

  /** Deliver queued bytes (each write cut into chunks by `cut`) until nothing moves. */
  pump(cut: (n: number) => number = (n) => n, drop: { a?: boolean; b?: boolean } = {}): void {
    for (let guard = 0; guard < 1000; guard++) {
      let moved = false;
      for (const side of ['a', 'b'] as const) {
        const q = this.queues[side];
        const conn = side === 'a' ? this.a : this.b;
        while (q.length > 0) {
          const bytes = q.shift()!;
          moved = true;
          if (drop[side]) continue;
          for (let off = 0; off < bytes.length; ) {
            const n = Math.max(1, Math.min(bytes.length - off, cut(bytes.length - off)));
            conn.receive(bytes.subarray(off, off + n));
            off += n;
          }
        }
      }
      if (!moved) return;
    }
    throw new Error('pump: no quiescence');
  }

  /** Advance the clock, firing due timers in time order (and pumping after each). */
  advance(ms: number, drop: { a?: boolean; b?: boolean } = {}): void {
    const end = this.clock.now() + ms;
    for (;;) {
      const due = [...this.timers].filter(([, t]) => t.at <= end).sort((x, y) => x[1].at - y[1].at)[0];
      if (!due) break;
      this.timers.delete(due[0]);
      this.clock.set(Math.max(this.clock.now(), due[1].at));
      const key = due[0].slice(2);
      (due[1].side === 'a' ? this.a : this.b).timer(key);
      this.pump(undefined, drop);
    }
    this.clock.set(end);
  }
}

let psk1: Uint8Array;
let psk2: Uint8Array;
beforeAll(() => {
  psk1 = derivePsk('correct horse');
  psk2 = derivePsk('battery staple');
});

describe('mesh connection state machine', () => {
  it('without a password: intro, hello, prepared; messages flow both ways', () => {
    const p = new Pair().start();
    p.pump();
    expect(p.a.state).toBe('prepared');
    expect(p.b.state).toBe('prepared');
    expect(p.a.remote?.name).toBe('02:00:00:00:00:0b');
    expect(p.b.remote?.nickname).toBe('a');
    expect(p.a.version).toBe(1);
    expect(p.a.encrypted).toBe(false);
    expect(p.a.uid).toBe(p.b.uid);
    expect(p.a.uid).toBe(100n ^ 200n);
    p.a.send({ tag: MessageTag.Gossip, channel: 'x', payload: Uint8Array.of(1, 2) });
    p.pump();
    expect(p.messages.b).toEqual([{ tag: MessageTag.Gossip, channel: 'x', payload: expect.anything() }]);
  });

  it('with the same password: Noise handshake, then every frame sealed', () => {
    const p = new Pair({ psk: psk1 }, { psk: psk1 }).start();
    p.pump();
    expect([p.a.state, p.b.state]).toEqual(['prepared', 'prepared']);
    expect(p.a.encrypted && p.b.encrypted).toBe(true);
    expect(
      Buffer.from(p.a.meshSession!.handshakeHash).equals(Buffer.from(p.b.meshSession!.handshakeHash)),
    ).toBe(true);
    const secret = new TextEncoder().encode('the plaintext must not appear on the wire');
    p.a.send({ tag: MessageTag.Gossip, channel: 'x', payload: secret });
    const wire = Buffer.concat(p.queues.b);
    expect(wire.includes(Buffer.from(secret))).toBe(false);
    p.pump();
    expect(
      Buffer.from((p.messages.b[0] as { payload: Uint8Array }).payload).equals(Buffer.from(secret)),
    ).toBe(true);
  });

  it('with different passwords: both sides fail authentication and say so; no hello crosses', () => {
    const p = new Pair({ psk: psk1 }, { psk: psk2 }).start();
    p.pump();
    expect(p.causes.a).toMatchObject([{ kind: 'auth-failed' }]);
    expect(p.causes.b).toMatchObject([{ kind: 'auth-failed' }]);
    expect(p.a.remote).toBeNull();
    expect(p.b.remote).toBeNull();
    const errors = p.log.records.filter((r) => r.level === 'error' && /different password/.test(r.msg ?? ''));
    expect(errors).toHaveLength(2);
  });

  it('refuses a peer without a password when we have one, and both sides log why', () => {
    const p = new Pair({ psk: psk1 }, {}).start();
    p.pump();
    expect(p.causes.a).toMatchObject([{ kind: 'refused-by-us', reason: 'encryption-required' }]);
    expect(p.causes.b).toMatchObject([{ kind: 'refused-by-us', reason: 'encryption-unsupported' }]);
    expect(p.log.records.filter((r) => r.level === 'error')).toHaveLength(2);
  });

  it('picks the highest common version and refuses disjoint ranges', () => {
    const ok = new Pair(
      { intro: { minVersion: 1, maxVersion: 3 } },
      { intro: { minVersion: 1, maxVersion: 2 } },
    );
    ok.start().pump();
    expect(ok.a.version).toBe(2);
    expect(ok.b.version).toBe(2);
    const bad = new Pair({ intro: { minVersion: 2, maxVersion: 3 } }, {});
    bad.start().pump();
    expect(bad.causes.a).toMatchObject([{ kind: 'refused-by-us', reason: 'version' }]);
    expect(bad.causes.b).toMatchObject([{ kind: 'refused-by-us', reason: 'version' }]);
  });

  it('closes on a peer that does not speak weft', () => {
    const p = new Pair();
    p.a.start();
    p.a.receive(new TextEncoder().encode('GET / HTTP/1.1\r\n\r\n'));
    expect(p.causes.a).toMatchObject([{ kind: 'protocol' }]);
    expect(p.streamClosed.a).toBe(true);
  });

  it("a refused hello reaches the other side as the peer's reason", () => {
    const p = new Pair(
      {},
      { decide: () => ({ accept: false, reason: 'name-collision', message: 'name taken' }) },
    );
    p.start().pump();
    expect(p.causes.b).toMatchObject([{ kind: 'refused-by-us', reason: 'name-collision' }]);
    expect(p.causes.a).toMatchObject([
      { kind: 'refused-by-peer', reason: 'name-collision', message: 'name taken' },
    ]);
  });

  it('times out a setup that does not finish in 10 s', () => {
    const p = new Pair();
    p.a.start();
    p.advance(9_999);
    expect(p.a.isOpen).toBe(true);
    p.advance(1);
    expect(p.causes.a).toMatchObject([{ kind: 'refused-by-us', reason: 'timeout' }]);
  });

  it('sends heartbeats every 30 s and closes a connection that is silent for 60 s', () => {
    const p = new Pair().start();
    p.pump();
    p.advance(10 * 60_000); // heartbeats keep it alive
    expect([p.a.state, p.b.state]).toEqual(['prepared', 'prepared']);
    // Now b's bytes stop reaching a.
    p.advance(59_000, { a: true });
    expect(p.a.isOpen).toBe(true);
    p.advance(61_000, { a: true });
    expect(p.causes.a).toMatchObject([{ kind: 'timeout' }]);
  });

  it('a frame length over the cap is a protocol error, before buffering it', () => {
    const p = new Pair().start();
    p.pump();
    p.a.receive(Uint8Array.of(0x7f, 0xff, 0xff, 0xff));
    expect(p.causes.a).toMatchObject([{ kind: 'protocol' }]);
  });

  it('establishes whatever the chunking of the byte stream', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 70 }), { minLength: 1, maxLength: 10 }),
        fc.boolean(),
        (cuts, enc) => {
          const psk = enc ? psk1 : null;
          const p = new Pair({ psk }, { psk });
          let i = 0;
          p.start().pump(() => cuts[i++ % cuts.length]!);
          expect([p.a.state, p.b.state]).toEqual(['prepared', 'prepared']);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('garbage after the intro never throws: it closes the connection with a protocol error', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 300 }), fc.boolean(), (junk, established) => {
        const p = new Pair();
        p.a.start();
        if (established) {
          p.b.start();
          p.pump();
        } else {
          p.a.receive(p.queues.a.length ? p.queues.a.shift()! : new Uint8Array(0));
          p.a.receive(Uint8Array.of(0x77, 0x65, 0x66, 0x74, 1, 1, 0, 0).subarray(0, INTRO_BYTES));
        }
        p.a.receive(Uint8Array.of(0, 0, 0, junk.length, ...junk));
        expect(p.causes.a.length).toBeLessThanOrEqual(1);
        if (p.causes.a.length === 1) expect(['protocol', 'refused-by-peer']).toContain(p.causes.a[0]!.kind);
      }),
      { numRuns: 500 },
    );
  });
});
