/**
 * What a fuzz target is. One target per decoder that reads bytes from the
 * network or a user. The same object is driven by the coverage-guided
 * fuzzer (`npm run fuzz`, instrumented) and by the normal test suite
 * (test/fuzz/regressions.test.ts replays every saved crash and the corpus).
 */
export interface FuzzTarget {
  name: string;
  /** The decoder(s) under test, for the report table. */
  decoder: string;
  /** Longest input the mutator makes. */
  maxLen: number;
  /** Valid encodings (and a few near misses) the corpus starts from. */
  seeds(): Uint8Array[];
  /**
   * Feed one input. Returns normally whatever the input was (a typed error
   * is a normal outcome); throws only when the code under test misbehaved:
   * it threw, returned something malformed, broke a round trip or an
   * invariant. A thrown error is a crash the fuzzer saves.
   */
  run(data: Uint8Array): void | Promise<void>;
  /** Extra dictionary tokens (the engine adds the code's literals itself). */
  tokens?(): Uint8Array[];
  /** Release what `run` set up once (servers, databases), for the test suite's afterAll. */
  dispose?(): Promise<void>;
}

/** A failed oracle check: the message says what the decoder did wrong. */
export class OracleError extends Error {
  override name = 'OracleError';
}

export function check(cond: unknown, message: string): asserts cond {
  if (!cond) throw new OracleError(message);
}

export const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);
