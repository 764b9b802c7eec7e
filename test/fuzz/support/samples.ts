import fc from 'fast-check';

/** A fixed sample of valid values (seeded, so the corpus seeds are the same every run). */
export function arbitrarySample<T>(arb: fc.Arbitrary<T>, n: number): T[] {
  return fc.sample(arb, { numRuns: n, seed: 0x5eed });
}
