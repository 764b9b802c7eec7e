import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../../common/random.js';
import { ConnectionMaker } from './connection-maker.js';

const POLICY = { initialMs: 2000, factor: 1.5, maxMs: 360_000, jitter: 0.5 };
const ADDRS = ['10.0.0.1:6783', '10.0.0.2:6783', '10.0.0.3:6783'];

function maker(discovery = true) {
  return new ConnectionMaker({
    backoff: POLICY,
    resetAfterMs: 60_000,
    discovery,
    random: new SeededRandom(1),
  });
}

/** Model: which addresses are direct, which are permanently failed, which have a live attempt. */
interface Model {
  now: number;
  direct: Set<string>;
  failed: Set<string>;
  attempts: Map<string, number>; // address → conn id
  nextId: number;
  /** Earliest time each waiting target may be dialled again. */
  notBefore: Map<string, number>;
}

type Real = { m: ConnectionMaker; connected: Set<string> };

class Connect implements fc.Command<Model, Real> {
  constructor(readonly addrs: string[]) {}
  check() {
    return true;
  }
  run(model: Model, real: Real) {
    for (const a of this.addrs) {
      // New and permanently failed targets are due at once; waiting ones keep their back-off.
      if (!model.direct.has(a) || model.failed.has(a)) model.notBefore.set(a, model.now);
      model.direct.add(a);
      model.failed.delete(a);
    }
    real.m.connect(this.addrs, false, model.now);
    expect(real.m.directAddresses()).toEqual([...model.direct].sort());
  }
  toString() {
    return `connect(${this.addrs})`;
  }
}

class Forget implements fc.Command<Model, Real> {
  constructor(readonly addr: string) {}
  check() {
    return true;
  }
  run(model: Model, real: Real) {
    real.m.forget([this.addr]);
    model.direct.delete(this.addr);
    model.failed.delete(this.addr);
    expect(real.m.directAddresses()).toEqual([...model.direct].sort());
  }
  toString() {
    return `forget(${this.addr})`;
  }
}

class Advance implements fc.Command<Model, Real> {
  constructor(readonly ms: number) {}
  check() {
    return true;
  }
  run(model: Model, real: Real) {
    model.now += this.ms;
    const plan = real.m.plan(model.now, (p) => real.connected.has(p), 10);
    for (const t of plan.dial) {
      // Never dial: a forgotten or failed target, one already being worked on, or one before its back-off.
      expect(model.direct.has(t.address)).toBe(true);
      expect(model.failed.has(t.address)).toBe(false);
      expect(model.attempts.has(t.address)).toBe(false);
      expect(model.now).toBeGreaterThanOrEqual(model.notBefore.get(t.address) ?? 0);
      const id = model.nextId++;
      real.m.attempting(t.address, id);
      model.attempts.set(t.address, id);
    }
    // Every due, direct, idle, non-failed target was dialled.
    for (const a of model.direct) {
      if (!model.failed.has(a) && !model.attempts.has(a) && (model.notBefore.get(a) ?? 0) <= model.now) {
        const t = real.m.get(a)!;
        expect(['connecting', 'satisfied']).toContain(t.state);
      }
    }
  }
  toString() {
    return `advance(${this.ms})`;
  }
}

class End implements fc.Command<Model, Real> {
  constructor(
    readonly pick: number,
    readonly permanent: boolean,
  ) {}
  check(model: Readonly<Model>) {
    return model.attempts.size > 0;
  }
  run(model: Model, real: Real) {
    const [addr, id] = [...model.attempts][this.pick % model.attempts.size]!;
    model.attempts.delete(addr);
    const before = real.m.get(addr)?.failures ?? 0;
    const delay = real.m.ended(addr, id, model.now, { error: 'boom', permanent: this.permanent });
    if (!model.direct.has(addr)) {
      expect(real.m.get(addr)).toBeUndefined();
      return;
    }
    if (this.permanent) {
      model.failed.add(addr);
      expect(real.m.get(addr)!.state).toBe('failed');
      return;
    }
    // Back-off: nominal 2 s × 1.5^(failures−1), ±50 %.
    const failures = before + 1;
    const nominal = Math.min(360_000, 2000 * 1.5 ** (failures - 1));
    expect(delay).toBeGreaterThanOrEqual(Math.floor(nominal * 0.5));
    expect(delay).toBeLessThanOrEqual(Math.ceil(nominal * 1.5));
    model.notBefore.set(addr, model.now + delay!);
  }
  toString() {
    return `end(${this.pick}, ${this.permanent})`;
  }
}

describe('connection maker (model-based)', () => {
  it('dials exactly the due targets, backs off, never retries permanent failures or forgotten targets', () => {
    const commands = [
      fc.subarray(ADDRS, { minLength: 1 }).map((a) => new Connect(a)),
      fc.constantFrom(...ADDRS).map((a) => new Forget(a)),
      fc.integer({ min: 0, max: 20_000 }).map((ms) => new Advance(ms)),
      fc.tuple(fc.nat(), fc.boolean()).map(([i, p]) => new End(i, p)),
    ];
    fc.assert(
      fc.property(fc.commands(commands, { maxCommands: 60 }), (cmds) => {
        const model: Model = {
          now: 0,
          direct: new Set(),
          failed: new Set(),
          attempts: new Map(),
          nextId: 1,
          notBefore: new Map(),
        };
        fc.modelRun(() => ({ model, real: { m: maker(false), connected: new Set<string>() } }), cmds);
      }),
      { numRuns: 300 },
    );
  });

  it('resets the back-off after a connection that lasted a minute', () => {
    const m = maker();
    m.connect([ADDRS[0]!], false, 0);
    for (let i = 0; i < 5; i++) {
      const t = m.plan(1e9 * (i + 1), () => false, 10).dial[0]!;
      m.attempting(t.address, i + 1);
      m.ended(t.address, i + 1, 1e9 * (i + 1), { error: 'refused' });
    }
    expect(m.get(ADDRS[0]!)!.failures).toBe(5);
    m.plan(1e10, () => false, 10);
    m.attempting(ADDRS[0]!, 99);
    m.connected(ADDRS[0]!, 99, 'peer', 1e10);
    const delay = m.ended(ADDRS[0]!, 99, 1e10 + 61_000, { error: 'closed' })!;
    expect(m.get(ADDRS[0]!)!.failures).toBe(1);
    expect(delay).toBeLessThanOrEqual(3000);
  });

  it('does not dial a target whose peer is already connected, and dials it again soon after that peer goes', () => {
    const m = maker();
    m.connect([ADDRS[0]!], false, 0);
    const t = m.plan(0, () => false, 10).dial[0]!;
    m.attempting(t.address, 1);
    m.satisfied(t.address, 1, 'peer-x');
    expect(m.plan(10, () => true, 10).dial).toEqual([]);
    expect(m.get(ADDRS[0]!)!.state).toBe('satisfied');
    // The peer went away: dialled again after a short back-off (2 s ± 50 %), not in a tight loop.
    expect(m.plan(20, () => false, 10).dial).toEqual([]);
    expect(m.plan(1019, () => false, 10).dial).toEqual([]);
    expect(m.plan(3021, () => false, 10).dial.map((d) => d.address)).toEqual([ADDRS[0]]);
  });

  it('respects the room the connection limit leaves', () => {
    const m = maker();
    m.connect(ADDRS, false, 0);
    expect(m.plan(0, () => false, 2).dial).toHaveLength(2);
    expect(m.plan(0, () => false, 0).dial).toHaveLength(0);
  });

  it('keeps discovered targets only while gossip names them, and only with discovery on', () => {
    const m = maker(true);
    m.setDiscovered(new Map([[ADDRS[1]!, 'p1']]), 0);
    expect(m.list().map((t) => [t.address, t.direct])).toEqual([[ADDRS[1], false]]);
    m.setDiscovered(new Map(), 1);
    expect(m.list()).toEqual([]);
    const off = maker(false);
    off.setDiscovered(new Map([[ADDRS[1]!, 'p1']]), 0);
    expect(off.list()).toEqual([]);
  });
});
