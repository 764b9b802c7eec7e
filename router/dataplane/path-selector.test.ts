import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { HelloMessage } from './control-codec.js';
import { PATH_DEFAULTS, type PathEffect, PathSelector } from './path-selector.js';

const HELLO = (fastdp: boolean): HelloMessage => ({
  tag: 'hello',
  fastdp,
  fastdpPort: 6784,
  vni: 1,
  heartbeatVni: 2,
  mtu: 1390,
});

/** Drives one selector like the connection shell would, keeping what it sent. */
class Driver {
  now = 0;
  readonly sel: PathSelector;
  readonly effects: PathEffect[] = [];
  constructor(fastdpLocal: boolean, maxDatagram = 1472) {
    this.sel = new PathSelector({ fastdpLocal, maxDatagram }, 0);
    this.effects.push(...this.sel.start(HELLO(fastdpLocal), 0));
  }
  private run(out: PathEffect[]): PathEffect[] {
    this.effects.push(...out);
    return out;
  }
  advance(ms: number, tickEvery = 250): void {
    const end = this.now + ms;
    while (this.now < end) {
      this.now = Math.min(end, this.now + tickEvery);
      this.run(this.sel.step({ kind: 'tick' }, this.now));
    }
  }
  hello(fastdp: boolean) {
    return this.run(this.sel.step({ kind: 'control', msg: HELLO(fastdp) }, this.now));
  }
  lastSent(kind: 'send-sleeve-heartbeat' | 'send-fastdp-heartbeat'): bigint | undefined {
    for (let i = this.effects.length - 1; i >= 0; i--) {
      const e = this.effects[i]!;
      if (e.kind === kind) return e.seq;
    }
    return undefined;
  }
  ack(kind: 'sleeve' | 'fastdp', seq?: bigint) {
    const s = seq ?? this.lastSent(kind === 'sleeve' ? 'send-sleeve-heartbeat' : 'send-fastdp-heartbeat');
    if (s === undefined) return [];
    return this.run(
      this.sel.step({ kind: 'control', msg: { tag: 'ack', kind, seq: s, size: 60 } }, this.now),
    );
  }
  hear(path: 'sleeve' | 'fastdp', seq = 0n) {
    return this.run(this.sel.step({ kind: 'heartbeat', path, seq, size: 60 }, this.now));
  }
  get path() {
    return this.sel.info(this.now).path;
  }
  count(kind: PathEffect['kind']) {
    return this.effects.filter((e) => e.kind === kind).length;
  }
}

/** Both directions of fastdp healthy for `ms`: we hear the peer and it acks us every heartbeat. */
function healthyFastdp(d: Driver, ms: number): void {
  const end = d.now + ms;
  while (d.now < end) {
    d.advance(250);
    d.hear('fastdp');
    d.ack('fastdp');
    d.ack('sleeve');
  }
}

describe('path selection', () => {
  it('starts with a hello and a sleeve heartbeat; established on the first ack, not before', () => {
    const d = new Driver(true);
    expect(d.effects[0]).toEqual({ kind: 'send-control', msg: HELLO(true) });
    expect(d.lastSent('send-sleeve-heartbeat')).toBe(0n);
    d.advance(1000);
    expect(d.path).toBe('none');
    expect(d.count('established')).toBe(0);
    d.ack('sleeve');
    expect(d.count('established')).toBe(1);
    expect(d.path).toBe('sleeve');
    d.ack('sleeve');
    expect(d.count('established')).toBe(1);
  });

  it('goes fastdp when both directions answer, falls back when acks stop, and comes back after 3 in a row', () => {
    const d = new Driver(true);
    d.hello(true);
    d.ack('sleeve');
    healthyFastdp(d, 2000);
    expect(d.path).toBe('fastdp');
    // UDP 6784 blocked: no acks, nothing heard.
    d.advance(PATH_DEFAULTS.fastdpTimeoutMs + 600);
    d.ack('sleeve');
    expect(d.path).toBe('sleeve');
    // Recovery: one or two acks are not enough.
    d.hear('fastdp');
    d.advance(1000);
    d.ack('fastdp');
    expect(d.path).toBe('sleeve');
    d.hear('fastdp');
    d.advance(1000);
    d.ack('fastdp');
    expect(d.path).toBe('sleeve');
    d.hear('fastdp');
    d.advance(1000);
    d.ack('fastdp');
    expect(d.path).toBe('fastdp');
  });

  it('never uses fastdp when either side does not allow it', () => {
    for (const [local, remote] of [
      [false, true],
      [true, false],
    ] as const) {
      const d = new Driver(local);
      d.hello(remote);
      d.ack('sleeve');
      healthyFastdp(d, 3000);
      expect(d.path).toBe('sleeve');
      expect(d.count('send-fastdp-heartbeat')).toBe(0);
    }
  });

  it('one direction failing is enough to leave fastdp', () => {
    const d = new Driver(true);
    d.hello(true);
    d.ack('sleeve');
    healthyFastdp(d, 2000);
    // The peer still acks ours, but its heartbeats no longer reach us.
    for (let i = 0; i < 20; i++) {
      d.advance(250);
      d.ack('fastdp');
    }
    expect(d.path).toBe('sleeve');
  });

  it('acks every heartbeat it hears, echoing kind, seq and size', () => {
    const d = new Driver(false);
    const out = d.hear('sleeve', 42n);
    expect(out).toContainEqual({
      kind: 'send-control',
      msg: { tag: 'ack', kind: 'sleeve', seq: 42n, size: 60 },
    });
  });

  it('ignores acks for heartbeats it never sent and stale ones', () => {
    const d = new Driver(true);
    d.ack('sleeve', 99n);
    expect(d.count('established')).toBe(0);
    d.ack('sleeve', -1n);
    expect(d.path).toBe('none');
  });

  it('fails when the sleeve never answers, and when it stops answering', () => {
    const never = new Driver(false);
    never.advance(PATH_DEFAULTS.establishTimeoutMs + 1000);
    expect(never.count('failed')).toBe(1);
    const stops = new Driver(false);
    stops.ack('sleeve');
    stops.advance(PATH_DEFAULTS.sleeveTimeoutMs + 1000);
    expect(stops.count('failed')).toBe(1);
    expect(stops.path).toBe('none');
    stops.advance(5000);
    expect(stops.count('failed')).toBe(1);
  });

  it('keeps the datagram size when the first probe is answered', () => {
    const d = new Driver(false, 1472);
    d.ack('sleeve');
    d.advance(250);
    const probe = d.effects.find((e) => e.kind === 'send-pmtu-probe');
    expect(probe).toMatchObject({ size: 1472 });
    if (probe?.kind !== 'send-pmtu-probe') throw new Error('no probe');
    d.effects.push(
      ...d.sel.step(
        { kind: 'control', msg: { tag: 'ack', kind: 'probe', seq: probe.seq, size: 1472 } },
        d.now,
      ),
    );
    d.advance(5000);
    expect(d.count('max-datagram')).toBe(0);
    expect(d.sel.info(d.now).pmtu).toEqual({ searching: false, maxDatagram: 1472 });
  });

  it('finds the path MTU by binary search when large probes are lost', () => {
    fc.assert(
      fc.property(fc.integer({ min: 576, max: 1472 }), (passes) => {
        const d = new Driver(false, 1472);
        d.ack('sleeve');
        let sizes = 0;
        for (let i = 0; i < 400 && d.sel.info(d.now).pmtu.searching; i++) {
          d.advance(250);
          d.ack('sleeve');
          for (const e of d.sel.step({ kind: 'tick' }, d.now)) d.effects.push(e);
          const last = d.effects.at(-1);
          if (last?.kind === 'send-pmtu-probe' && last.size <= passes) {
            sizes++;
            d.effects.push(
              ...d.sel.step(
                { kind: 'control', msg: { tag: 'ack', kind: 'probe', seq: last.seq, size: last.size } },
                d.now,
              ),
            );
          }
        }
        const got = d.sel.info(d.now).pmtu.maxDatagram;
        expect(d.sel.info(d.now).pmtu.searching).toBe(false);
        expect(got).toBeLessThanOrEqual(passes);
        expect(passes - got).toBeLessThanOrEqual(PATH_DEFAULTS.pmtuPrecision);
        expect(sizes).toBeGreaterThanOrEqual(0);
      }),
      { numRuns: 40 },
    );
  });
});

// Model-based: random schedules of time, acks and heartbeats against a model
// that states the rules from the observable history only.
describe('path selection (model-based)', () => {
  interface Model {
    now: number;
    remoteFastdp: boolean;
    established: boolean;
    failed: boolean;
    sleeveAckAt?: number;
    fastdpAckAt?: number;
    heardAt?: number;
    lastAckedFastdp: bigint;
    inARow: number;
    up: boolean;
    everDown: boolean;
  }
  type Real = Driver;
  const T = PATH_DEFAULTS.fastdpTimeoutMs;

  function settle(m: Model): void {
    if (m.failed) {
      m.up = false;
      return;
    }
    const lastSleeve = m.sleeveAckAt ?? 0;
    if (
      (m.established ? PATH_DEFAULTS.sleeveTimeoutMs : PATH_DEFAULTS.establishTimeoutMs) <
      m.now - lastSleeve
    ) {
      m.failed = true;
      m.up = false;
      return;
    }
    const fresh = (t?: number) => t !== undefined && m.now - t <= T;
    const healthy = m.remoteFastdp && fresh(m.fastdpAckAt) && fresh(m.heardAt);
    if (m.up && !healthy) {
      m.up = false;
      m.everDown = true;
      m.inARow = 0;
    } else if (!m.up && healthy && m.inARow >= (m.everDown ? 3 : 1)) m.up = true;
  }
  const expectedPath = (m: Model) => (m.failed || !m.established ? 'none' : m.up ? 'fastdp' : 'sleeve');

  class Advance implements fc.Command<Model, Real> {
    constructor(readonly ms: number) {}
    check = () => true;
    run(m: Model, r: Real) {
      // One step at a time so the model sees every instant the selector evaluates.
      const end = m.now + this.ms;
      while (m.now < end) {
        m.now = Math.min(end, m.now + 250);
        r.advance(m.now - r.now);
        settle(m);
        expect(r.path).toBe(expectedPath(m));
      }
    }
    toString = () => `advance(${this.ms})`;
  }
  class Hello implements fc.Command<Model, Real> {
    constructor(readonly fastdp: boolean) {}
    check = () => true;
    run(m: Model, r: Real) {
      r.hello(this.fastdp);
      m.remoteFastdp = this.fastdp;
      settle(m);
      expect(r.path).toBe(expectedPath(m));
    }
    toString = () => `hello(${this.fastdp})`;
  }
  class AckSleeve implements fc.Command<Model, Real> {
    check = () => true;
    run(m: Model, r: Real) {
      const before = r.count('established');
      const seq = r.lastSent('send-sleeve-heartbeat');
      r.ack('sleeve');
      if (!m.failed && seq !== undefined) {
        m.sleeveAckAt = m.now;
        m.established = true;
      }
      settle(m);
      expect(r.count('established') - before).toBe(m.established && before === 0 ? 1 : 0);
      expect(r.path).toBe(expectedPath(m));
    }
    toString = () => 'ackSleeve';
  }
  class AckFastdp implements fc.Command<Model, Real> {
    check = () => true;
    run(m: Model, r: Real) {
      const seq = r.lastSent('send-fastdp-heartbeat');
      r.ack('fastdp');
      if (!m.failed && seq !== undefined && seq > m.lastAckedFastdp) {
        m.inARow = seq === m.lastAckedFastdp + 1n ? m.inARow + 1 : 1;
        m.lastAckedFastdp = seq;
        m.fastdpAckAt = m.now;
      }
      settle(m);
      expect(r.path).toBe(expectedPath(m));
    }
    toString = () => 'ackFastdp';
  }
  class Hear implements fc.Command<Model, Real> {
    check = () => true;
    run(m: Model, r: Real) {
      const out = r.hear('fastdp', 7n);
      if (!m.failed) {
        m.heardAt = m.now;
        expect(out).toContainEqual({
          kind: 'send-control',
          msg: { tag: 'ack', kind: 'fastdp', seq: 7n, size: 60 },
        });
      }
      settle(m);
      expect(r.path).toBe(expectedPath(m));
    }
    toString = () => 'hearFastdp';
  }

  it('agrees with the model on every schedule', () => {
    const commands = [
      fc.integer({ min: 1, max: 24 }).map((n) => new Advance(n * 250)),
      fc.boolean().map((b) => new Hello(b)),
      fc.constant(new AckSleeve()),
      fc.constant(new AckFastdp()),
      fc.constant(new AckFastdp()),
      fc.constant(new Hear()),
    ];
    fc.assert(
      fc.property(fc.commands(commands, { maxCommands: 120 }), (cmds) => {
        const model: Model = {
          now: 0,
          remoteFastdp: false,
          established: false,
          failed: false,
          lastAckedFastdp: -1n,
          inARow: 0,
          up: false,
          everDown: false,
        };
        const real = new Driver(true);
        fc.modelRun(() => ({ model, real }), cmds);
        // Invariants over the whole run.
        expect(real.count('established')).toBeLessThanOrEqual(1);
        expect(real.count('failed')).toBeLessThanOrEqual(1);
        const sends = real.effects.filter((e) => e.kind === 'send-sleeve-heartbeat').length;
        if (!model.failed)
          expect(sends).toBeGreaterThanOrEqual(Math.floor(model.now / PATH_DEFAULTS.heartbeatMs));
      }),
      { numRuns: 200 },
    );
  });
});
