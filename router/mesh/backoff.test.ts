import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../../common/random.js';
import { backoffDelay, nominalDelay } from './backoff.js';

const weave = { initialMs: 2000, factor: 1.5, maxMs: 360_000, jitter: 0.5 };

describe('back-off', () => {
  it('grows ×1.5 from 2 s and stops at 6 min (nominal)', () => {
    expect([1, 2, 3, 4].map((n) => nominalDelay(weave, n))).toEqual([2000, 3000, 4500, 6750]);
    expect(nominalDelay(weave, 50)).toBe(360_000);
  });

  it('stays within ±jitter of the nominal delay, and spreads over that range', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 40 }), fc.integer(), (failures, seed) => {
        const d = backoffDelay(weave, failures, new SeededRandom(seed));
        const n = nominalDelay(weave, failures);
        expect(d).toBeGreaterThanOrEqual(Math.floor(n * 0.5));
        expect(d).toBeLessThanOrEqual(Math.ceil(n * 1.5));
      }),
    );
    const rng = new SeededRandom(3);
    const samples = Array.from({ length: 1000 }, () => backoffDelay(weave, 1, rng));
    expect(Math.min(...samples)).toBeLessThan(1100);
    expect(Math.max(...samples)).toBeGreaterThan(2900);
  });
});
