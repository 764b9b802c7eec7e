import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MonotonicTotals } from './monotonic.js';

describe('MonotonicTotals', () => {
  it('adds growth and restarts from 0 after a reading goes backwards', () => {
    const t = new MonotonicTotals();
    expect(t.observe('a', 10)).toBe(10);
    expect(t.observe('a', 15)).toBe(15);
    // The source was recreated and has counted 4 since.
    expect(t.observe('a', 4)).toBe(19);
    expect(t.observe('a', 6)).toBe(21);
  });

  it('keeps keys apart and remembers totals of keys that stopped reporting', () => {
    const t = new MonotonicTotals();
    t.observe('a', 5);
    t.observe('b', 7);
    t.observe('b', 9);
    expect(new Map(t.entries())).toEqual(
      new Map([
        ['a', 5],
        ['b', 9],
      ]),
    );
  });

  it('treats negative, NaN and infinite readings as 0', () => {
    const t = new MonotonicTotals();
    expect(t.observe('a', Number.NaN)).toBe(0);
    expect(t.observe('a', -3)).toBe(0);
    expect(t.observe('a', Number.POSITIVE_INFINITY)).toBe(0);
    expect(t.observe('a', 2)).toBe(2);
  });

  it('never decreases, and equals the true count when the source only resets to 0', () => {
    // A source counting `inc` events per step, reset to 0 at `reset` steps.
    const step = fc.record({ inc: fc.nat(1000), reset: fc.boolean() });
    fc.assert(
      fc.property(fc.array(step, { maxLength: 60 }), (steps) => {
        const t = new MonotonicTotals();
        let reading = 0;
        let truth = 0;
        let prev = 0;
        for (const s of steps) {
          if (s.reset) reading = 0;
          reading += s.inc;
          truth += s.inc;
          const total = t.observe('k', reading);
          expect(total).toBeGreaterThanOrEqual(prev);
          prev = total;
          // Exact unless a reset was followed by growth past the old reading
          // within one observation, which the source cannot tell us about:
          // then we under-count, never over-count.
          expect(total).toBeLessThanOrEqual(truth);
        }
        if (!steps.some((s) => s.reset)) expect(prev).toBe(truth);
      }),
    );
  });
});

describe('MonotonicTotals.retire', () => {
  it('hands back the total, forgets the key, and counts a returning key as new', () => {
    const t = new MonotonicTotals();
    t.observe('a', 10);
    expect(t.retire('a')).toBe(10);
    expect(t.entries()).toEqual([]);
    expect(t.observe('a', 3)).toBe(3);
    expect(t.retire('nope')).toBe(0);
  });
});
