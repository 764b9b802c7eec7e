import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_COUNTER, REPLAY_WINDOW, ReplayWindow } from './replay-window.js';
import { ReplaySetModel as SetModel } from './testdata/replay-model.js';

type Real = { w: ReplayWindow };

function clamp(c: bigint): bigint {
  return c < 0n ? 0n : c > MAX_COUNTER ? MAX_COUNTER : c;
}

/** Accept a counter relative to the current highest (hits the window edges often). */
class AcceptRelative implements fc.Command<SetModel, Real> {
  constructor(readonly delta: bigint) {}
  check = () => true;
  run(m: SetModel, r: Real) {
    const c = clamp((m.max ?? 0n) + this.delta);
    expect(r.w.accept(c)).toBe(m.accept(c));
    expect(r.w.highest).toBe(m.max);
  }
  toString = () => `acceptRel(${this.delta})`;
}

class AcceptAbsolute implements fc.Command<SetModel, Real> {
  constructor(readonly c: bigint) {}
  check = () => true;
  run(m: SetModel, r: Real) {
    expect(r.w.accept(this.c)).toBe(m.accept(this.c));
    expect(r.w.highest).toBe(m.max);
  }
  toString = () => `accept(${this.c})`;
}

/** check() must agree with the model and change nothing. */
class CheckOnly implements fc.Command<SetModel, Real> {
  constructor(readonly delta: bigint) {}
  check = () => true;
  run(m: SetModel, r: Real) {
    const c = clamp((m.max ?? 0n) + this.delta);
    expect(r.w.check(c)).toBe(m.wouldAccept(c));
    expect(r.w.check(c)).toBe(m.wouldAccept(c));
    expect(r.w.highest).toBe(m.max);
  }
  toString = () => `check(${this.delta})`;
}

const W = REPLAY_WINDOW;
const nearEdges = fc.oneof(
  fc.bigInt({ min: -3n, max: 3n }),
  fc.bigInt({ min: -W - 3n, max: -W + 3n }),
  fc.bigInt({ min: -2n * W, max: 2n * W }),
  fc.bigInt({ min: 2040n, max: 2120n }),
  fc.bigInt({ min: 1n, max: 1n << 40n }),
);
const absolute = fc.oneof(
  fc.bigInt({ min: 0n, max: 5000n }),
  fc.bigInt({ min: MAX_COUNTER - 5000n, max: MAX_COUNTER }),
  fc.bigInt({ min: 0n, max: MAX_COUNTER }),
);

describe('replay window (RFC 6479 style)', () => {
  it('accepts exactly what the set-based model accepts, under any sequence (model-based)', () => {
    fc.assert(
      fc.property(
        fc.commands(
          [
            nearEdges.map((d) => new AcceptRelative(d)),
            nearEdges.map((d) => new AcceptRelative(d)),
            nearEdges.map((d) => new CheckOnly(d)),
            absolute.map((c) => new AcceptAbsolute(c)),
          ],
          { maxCommands: 200 },
        ),
        (cmds) => {
          fc.modelRun(() => ({ model: new SetModel(), real: { w: new ReplayWindow() } }), cmds);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('after any history, check() agrees with the model on every counter around the window (full sweep)', () => {
    // Deltas that make the ring alias: jumps of whole blocks (32) and whole bitmaps (2048), and far jumps.
    const delta = fc.oneof(
      fc.bigInt({ min: -40n, max: 40n }),
      fc
        .tuple(fc.integer({ min: 0, max: 70 }), fc.integer({ min: -3, max: 3 }))
        .map(([k, d]) => BigInt(k * 32 + d)),
      fc
        .tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: -40, max: 40 }))
        .map(([k, d]) => BigInt(k * 2048 + d)),
      fc.bigInt({ min: 2049n, max: 1n << 20n }),
    );
    fc.assert(
      fc.property(fc.array(delta, { minLength: 1, maxLength: 40 }), (deltas) => {
        const model = new SetModel();
        const w = new ReplayWindow();
        for (const d of deltas) {
          const c = clamp((model.max ?? 0n) + d);
          expect(w.accept(c)).toBe(model.accept(c));
        }
        const max = model.max!;
        for (let c = max - W - 2n; c <= max + 2n; c++) expect(w.check(c)).toBe(model.wouldAccept(c));
      }),
      { numRuns: 150 },
    );
  });

  it('accepts every counter once when packets arrive shuffled within the window', () => {
    fc.assert(
      fc.property(fc.shuffledSubarray([...Array(300).keys()], { minLength: 300 }), (order) => {
        const w = new ReplayWindow();
        for (const c of order) expect(w.accept(BigInt(c))).toBe(true);
        for (const c of order) expect(w.accept(BigInt(c))).toBe(false);
      }),
      { numRuns: 50 },
    );
  });

  it('edge of the window: max − c = W − 1 is accepted, max − c = W is too old', () => {
    const w = new ReplayWindow();
    expect(w.accept(10_000n)).toBe(true);
    expect(w.accept(10_000n - W)).toBe(false);
    expect(w.accept(10_000n - W + 1n)).toBe(true);
  });

  it('rejects counters outside the 64-bit range and handles the very top', () => {
    const w = new ReplayWindow();
    expect(w.accept(-1n)).toBe(false);
    expect(w.accept(MAX_COUNTER + 1n)).toBe(false);
    expect(w.accept(MAX_COUNTER)).toBe(true);
    expect(w.accept(MAX_COUNTER)).toBe(false);
    expect(w.accept(MAX_COUNTER - 1n)).toBe(true);
    expect(w.accept(0n)).toBe(false); // far behind
  });
});
