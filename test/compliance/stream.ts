/**
 * The compliance suite every `StreamTransport` must pass (router/transport/
 * stream.ts): the simulator's in-memory transport and the daemon's TCP
 * transport run the same cases, so the fake stays honest.
 *
 *   runStreamCompliance('tcp', async () => ({
 *     transport: new TcpTransport(),
 *     listenAddress: () => '127.0.0.1:0',
 *     refusedAddress: '127.0.0.1:1',
 *     waitFor: realWaitFor,           // polls in real time
 *     teardown: async () => {},
 *   }));
 *
 * Time: the harness's `waitFor` advances whatever clock the transport runs on
 * (real time for TCP, the virtual clock for the simulator), so no case awaits
 * a transport promise directly: it waits for it through the harness.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  type Stream,
  type StreamCloseReason,
  type StreamListener,
  type StreamTransport,
  TransportError,
} from '../../router/transport/stream.js';

export interface StreamComplianceHarness {
  transport: StreamTransport;
  /** An address to listen on; the listener's `address` is what gets dialled. */
  listenAddress(): string;
  /** Nothing listens here: a dial must fail with 'refused' or 'unreachable'. */
  refusedAddress: string;
  /** A dial here never completes (packets dropped); omit to skip the timeout case. */
  blackholeAddress?: string;
  /** Let the transport's time pass until cond() holds; throws after timeoutMs of that time. */
  waitFor(cond: () => boolean, timeoutMs: number): Promise<void>;
  teardown(): Promise<void>;
}

/** Real-time waitFor for transports on the system clock. */
export async function realWaitFor(cond: () => boolean, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`waitFor: not true within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

interface Tracked<T> {
  done: boolean;
  value?: T;
  error?: unknown;
}

function track<T>(p: Promise<T>): Tracked<T> {
  const t: Tracked<T> = { done: false };
  p.then(
    (value) => {
      t.done = true;
      t.value = value;
    },
    (error: unknown) => {
      t.done = true;
      t.error = error;
    },
  );
  return t;
}

interface Recorder {
  bytes: number;
  chunks: Uint8Array[];
  closes: StreamCloseReason[];
}

function record(s: Stream): Recorder {
  const r: Recorder = { bytes: 0, chunks: [], closes: [] };
  s.onData((b) => {
    r.chunks.push(Uint8Array.from(b));
    r.bytes += b.length;
  });
  s.onClose((reason) => r.closes.push(reason));
  return r;
}

function concat(chunks: Uint8Array[]): Uint8Array {
  return Uint8Array.from(Buffer.concat(chunks));
}

/** Deterministic pseudo-random bytes (the suite needs no Random of its own). */
function pattern(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

export function runStreamCompliance(name: string, makeHarness: () => Promise<StreamComplianceHarness>): void {
  describe(`StreamTransport compliance: ${name}`, () => {
    let h: StreamComplianceHarness;
    let listeners: StreamListener[] = [];
    let streams: Stream[] = [];

    beforeEach(async () => {
      h = await makeHarness();
      listeners = [];
      streams = [];
    });
    afterEach(async () => {
      for (const s of streams) s.close();
      for (const l of listeners) await l.close();
      await h.teardown();
    });

    async function settle<T>(p: Promise<T>, timeoutMs = 10_000): Promise<T> {
      const t = track(p);
      await h.waitFor(() => t.done, timeoutMs);
      if (t.error !== undefined) throw t.error;
      return t.value as T;
    }

    /** A connected pair: `a` dialled, `b` accepted. */
    async function pair(): Promise<{ a: Stream; b: Stream; listener: StreamListener }> {
      const accepted: Stream[] = [];
      const listener = await settle(h.transport.listen(h.listenAddress(), (s) => accepted.push(s)));
      listeners.push(listener);
      const a = await settle(h.transport.dial(listener.address));
      await h.waitFor(() => accepted.length === 1, 10_000);
      const b = accepted[0]!;
      streams.push(a, b);
      return { a, b, listener };
    }

    it('delivers many chunks in order, both ways', async () => {
      const { a, b } = await pair();
      const ra = record(a);
      const rb = record(b);
      const sent: Uint8Array[] = [];
      const back: Uint8Array[] = [];
      for (let i = 0; i < 500; i++) {
        const c = pattern(1 + ((i * 7919) % 1500), i + 1);
        sent.push(c);
        expect(a.write(c)).toBe(true);
        const d = pattern(1 + ((i * 104_729) % 700), i + 100_000);
        back.push(d);
        expect(b.write(d)).toBe(true);
      }
      const total = sent.reduce((s, c) => s + c.length, 0);
      const totalBack = back.reduce((s, c) => s + c.length, 0);
      await h.waitFor(() => rb.bytes >= total && ra.bytes >= totalBack, 20_000);
      expect(Buffer.from(concat(rb.chunks)).equals(Buffer.from(concat(sent)))).toBe(true);
      expect(Buffer.from(concat(ra.chunks)).equals(Buffer.from(concat(back)))).toBe(true);
    });

    it('delivers a large write intact', async () => {
      const { a, b } = await pair();
      const rb = record(b);
      const big = pattern(4 * 1024 * 1024, 42);
      expect(a.write(big)).toBe(true);
      await h.waitFor(() => rb.bytes >= big.length, 30_000);
      expect(rb.bytes).toBe(big.length);
      expect(Buffer.from(concat(rb.chunks)).equals(Buffer.from(big))).toBe(true);
    });

    for (const closer of ['dialler', 'acceptor'] as const) {
      it(`a close by the ${closer} reaches the other side exactly once, after the data`, async () => {
        const { a, b } = await pair();
        const [c, o] = closer === 'dialler' ? [a, b] : [b, a];
        const rc = record(c);
        const ro = record(o);
        const last = pattern(10_000, 7);
        c.write(last);
        c.close();
        await h.waitFor(() => ro.closes.length > 0 && rc.closes.length > 0, 10_000);
        expect(ro.bytes).toBe(last.length);
        // Give any duplicate notification time to show up.
        const t = track(new Promise((r) => setTimeout(r, 50)));
        await h.waitFor(() => t.done, 1_000).catch(() => {});
        expect(rc.closes).toEqual([{ kind: 'local' }]);
        expect(ro.closes).toHaveLength(1);
        expect(['remote', 'error']).toContain(ro.closes[0]!.kind);
      });
    }

    it('both sides closing at once: each sees exactly one close', async () => {
      const { a, b } = await pair();
      const ra = record(a);
      const rb = record(b);
      a.close();
      b.close();
      await h.waitFor(() => ra.closes.length > 0 && rb.closes.length > 0, 10_000);
      expect(ra.closes).toEqual([{ kind: 'local' }]);
      expect(rb.closes).toEqual([{ kind: 'local' }]);
    });

    it('writes after a close (ours or theirs) return false', async () => {
      const { a, b } = await pair();
      const rb = record(b);
      record(a);
      a.close();
      expect(a.write(Uint8Array.of(1))).toBe(false);
      await h.waitFor(() => rb.closes.length > 0, 10_000);
      expect(b.write(Uint8Array.of(1))).toBe(false);
    });

    it('a close handler registered after the close still runs, once', async () => {
      const { a, b } = await pair();
      const rb = record(b);
      a.close();
      await h.waitFor(() => rb.closes.length > 0, 10_000);
      const late: StreamCloseReason[] = [];
      a.onClose((r) => late.push(r));
      await h.waitFor(() => late.length > 0, 1_000);
      expect(late).toEqual([{ kind: 'local' }]);
    });

    it('dialling where nothing listens fails with refused or unreachable', async () => {
      const err = await settle(h.transport.dial(h.refusedAddress, { timeoutMs: 5_000 })).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(TransportError);
      expect(['refused', 'unreachable']).toContain((err as TransportError).kind);
    });

    it('a dial that gets no answer fails with timeout', async (ctx) => {
      if (!h.blackholeAddress) return ctx.skip();
      const err = await settle(h.transport.dial(h.blackholeAddress, { timeoutMs: 300 }), 5_000).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(TransportError);
      expect((err as TransportError).kind).toBe('timeout');
    });

    it('bufferedBytes counts what is not yet delivered and returns to zero', async () => {
      const { a, b } = await pair();
      const rb = record(b);
      expect(a.bufferedBytes).toBe(0);
      const chunk = pattern(256 * 1024, 3);
      for (let i = 0; i < 8; i++) a.write(chunk);
      expect(a.bufferedBytes).toBeGreaterThanOrEqual(0);
      expect(a.bufferedBytes).toBeLessThanOrEqual(8 * chunk.length);
      await h.waitFor(() => rb.bytes === 8 * chunk.length, 30_000);
      await h.waitFor(() => a.bufferedBytes === 0, 10_000);
    });

    it('addresses mirror each other', async () => {
      const { a, b } = await pair();
      expect(a.localAddress).toBe(b.remoteAddress);
      expect(a.remoteAddress).toBe(b.localAddress);
    });

    it('a closed listener accepts nothing more', async () => {
      const { listener } = await pair();
      await listener.close();
      listeners = listeners.filter((l) => l !== listener);
      const err = await settle(h.transport.dial(listener.address, { timeoutMs: 5_000 })).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(TransportError);
    });
  });
}
