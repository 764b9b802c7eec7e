import { describe, expect, it } from 'vitest';
import { cryptoRandom } from './random.js';

// Regression: cryptoRandom.next() used randomInt(0, 2**48), which Node refuses
// (range must be < 2**48) and crashed the daemon on its first back-off.
describe('cryptoRandom', () => {
  it('next() returns floats in [0, 1) without throwing', () => {
    for (let i = 0; i < 1000; i++) {
      const x = cryptoRandom.next();
      expect(x).toBeGreaterThanOrEqual(0);
      expect(x).toBeLessThan(1);
    }
  });

  it('int(n) stays in [0, n)', () => {
    for (let i = 0; i < 1000; i++) expect(cryptoRandom.int(7)).toBeLessThan(7);
  });
});
