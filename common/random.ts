import { randomBytes, randomInt } from 'node:crypto';

/**
 * Randomness as the pure cores see it. Cores never call Math.random or
 * node:crypto; they take a `Random`. The daemon passes `cryptoRandom`, tests and
 * the simulator a `SeededRandom` so every run can be replayed from its seed.
 */
export interface Random {
  /** Uniform float in [0, 1). */
  next(): number;
  /** Uniform integer in [0, n). n must be a positive safe integer. */
  int(n: number): number;
  /** n uniformly random bytes. */
  bytes(n: number): Uint8Array;
}

export const cryptoRandom: Random = {
  // randomInt allows a range of at most 2^48 - 1, so read 48 bits directly.
  next: () => randomBytes(6).readUIntBE(0, 6) / 2 ** 48,
  int: (n) => randomInt(0, n),
  bytes: (n) => new Uint8Array(randomBytes(n)),
};

/** sfc32: small, fast, good statistical quality, fully determined by its seed. */
export class SeededRandom implements Random {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(readonly seed: number) {
    this.a = 0x9e3779b9;
    this.b = 0x243f6a88;
    this.c = 0xb7e15162;
    this.d = seed >>> 0;
    for (let i = 0; i < 15; i++) this.u32();
  }

  u32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  next(): number {
    return this.u32() / 4294967296;
  }

  int(n: number): number {
    if (!(n > 0) || !Number.isSafeInteger(n)) throw new RangeError(`int(${n}): n must be a positive integer`);
    return Math.floor(this.next() * n);
  }

  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.u32() & 0xff;
    return out;
  }

  /** An independent stream derived from this one (for giving each simulated peer its own). */
  fork(): SeededRandom {
    return new SeededRandom(this.u32());
  }
}

/** Fisher–Yates shuffle of a copy, driven by `rng`. */
export function shuffled<T>(items: readonly T[], rng: Random): T[] {
  const out = items.slice();
  for (let i = out.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const tmp = out[i]!;
    out[i] = out[j]!;
    out[j] = tmp;
  }
  return out;
}
