/**
 * The coverage-guided loop (runs inside a worker thread, one target each):
 * pick a corpus entry, mutate it, run the target, read the coverage counters
 * the instrumentation bumped; an input that reached a new (counter, hit-count
 * bucket) feature joins the corpus. A throw from the target is a crash,
 * reported with its input and de-duplicated by the top of its stack.
 *
 * The current input is mirrored into shared memory before every execution,
 * so the parent can save it if the worker hangs or runs out of memory.
 */
import type { FuzzTarget } from '../targets/target.js';
import { CmpTable, FastRandom, type MutationContext, mutate } from './mutate.js';

export interface SharedProgress {
  /** [0] executions so far (wraps), [1] length of the current input. */
  counters: Int32Array;
  /** The current input's bytes (first counters[1] of them). */
  current: Uint8Array;
}

export interface EngineStats {
  execs: number;
  corpus: number;
  /** Counters ever hit / counters in the instrumented code. */
  covered: number;
  sites: number;
  features: number;
  crashes: number;
  /** Slowest single input, ms. */
  slowestMs: number;
}

export interface Crash {
  input: Uint8Array;
  error: string;
  /** Top of the stack, for de-duplication. */
  signature: string;
}

export interface EngineOptions {
  target: FuzzTarget;
  seed: number;
  /** Stop after this many executions or this many ms, whichever first. */
  runs: number;
  ms: number;
  corpus: Uint8Array[];
  dictionary: Uint8Array[];
  shared: SharedProgress;
  /** The coverage counters (set up by installHooks before the target loaded). */
  hooks: FuzzHooks;
  onStats(s: EngineStats): void;
  onCrash(c: Crash): void;
  onNewInput(input: Uint8Array): void;
}

export interface FuzzHooks {
  coverage(n: number): Uint32Array;
  cmp: { r: unknown; c(a: unknown, b: unknown): unknown };
  counters(): Uint32Array;
  table: CmpTable;
  tracing: boolean;
}

/** Set `globalThis.__weftFuzz` (read by the instrumented code's prelude) before importing a target. */
export function installHooks(): FuzzHooks {
  let cov = new Uint32Array(0);
  const table = new CmpTable();
  const hooks: FuzzHooks = {
    coverage(n) {
      cov = new Uint32Array(n);
      return cov;
    },
    counters: () => cov,
    table,
    tracing: false,
    cmp: {
      r: undefined,
      c(a, b) {
        hooks.cmp.r = b;
        if (hooks.tracing && a !== b) {
          const ta = typeof a;
          if (ta === typeof b) {
            if (ta === 'number' || ta === 'bigint') table.add(a as number, b as number);
            else if (ta === 'string' && (a as string).length <= 64 && (b as string).length <= 64)
              table.add(a as string, b as string);
          }
        }
        return a;
      },
    },
  };
  (globalThis as { __weftFuzz?: FuzzHooks }).__weftFuzz = hooks;
  return hooks;
}

/** AFL's hit-count buckets: 1, 2, 3, 4-7, 8-15, 16-31, 32-127, 128+. */
function bucket(v: number): number {
  if (v < 4) return v - 1;
  if (v < 8) return 3;
  if (v < 16) return 4;
  if (v < 32) return 5;
  if (v < 128) return 6;
  return 7;
}

function signatureOf(e: unknown): string {
  const err = e instanceof Error ? e : new Error(String(e));
  const frames = (err.stack ?? '')
    .split('\n')
    .filter((l) => l.trim().startsWith('at '))
    .slice(0, 3)
    .map((l) => l.trim().replace(/:\d+:\d+\)?$/, ''));
  // The message without what the input put in it (quoted values, numbers), so one bug is one crash.
  const message = err.message.replace(/"(?:[^"\\]|\\.)*"|'[^']*'|\d+/g, '…').slice(0, 80);
  return `${err.name}: ${message} | ${frames.join(' < ')}`;
}

export async function runEngine(o: EngineOptions): Promise<EngineStats> {
  const { target, hooks, shared } = o;
  const cov = hooks.counters();
  const seen = new Uint8Array(cov.length);
  const rng = new FastRandom(o.seed);
  const corpus: Uint8Array[] = [];
  const signatures = new Set<string>();
  const stats: EngineStats = {
    execs: 0,
    corpus: 0,
    covered: 0,
    sites: cov.length,
    features: 0,
    crashes: 0,
    slowestMs: 0,
  };
  const ctx: MutationContext = {
    rng,
    maxLen: target.maxLen,
    dictionary: o.dictionary,
    cmp: hooks.table,
    other: () => corpus[rng.below(corpus.length)] ?? new Uint8Array(0),
  };

  /** Run one input; returns the number of new features it reached. */
  const exec = async (input: Uint8Array): Promise<number> => {
    shared.counters[1] = input.length;
    shared.current.set(input);
    cov.fill(0);
    hooks.tracing = true;
    const t0 = performance.now();
    try {
      const r = target.run(input);
      if (r) await r;
    } catch (e) {
      const signature = signatureOf(e);
      if (!signatures.has(signature)) {
        signatures.add(signature);
        stats.crashes++;
        o.onCrash({
          input: input.slice(),
          error: e instanceof Error ? (e.stack ?? e.message) : String(e),
          signature,
        });
      }
    } finally {
      hooks.tracing = false;
    }
    const dt = performance.now() - t0;
    if (dt > stats.slowestMs) stats.slowestMs = dt;
    stats.execs++;
    Atomics.store(shared.counters, 0, stats.execs | 0);
    let fresh = 0;
    for (let i = 0; i < cov.length; i++) {
      const v = cov[i]!;
      if (v === 0) continue;
      const bit = 1 << bucket(v);
      const s = seen[i]!;
      if ((s & bit) === 0) {
        if (s === 0) stats.covered++;
        seen[i] = s | bit;
        fresh++;
      }
    }
    stats.features += fresh;
    return fresh;
  };

  const start = performance.now();
  let lastReport = start;
  const seeds = [...o.corpus, ...target.seeds()];
  for (const s of seeds) {
    const input = s.length > target.maxLen ? s.slice(0, target.maxLen) : s;
    await exec(input);
    corpus.push(input);
  }
  if (corpus.length === 0) corpus.push(new Uint8Array(0));
  stats.corpus = corpus.length;

  while (stats.execs < o.runs && performance.now() - start < o.ms) {
    const parent = corpus[rng.below(corpus.length)]!;
    const child = mutate(parent, ctx);
    if ((await exec(child)) > 0) {
      corpus.push(child);
      stats.corpus = corpus.length;
      o.onNewInput(child);
    }
    if ((stats.execs & 255) === 0) {
      const now = performance.now();
      if (now - lastReport > 1000) {
        lastReport = now;
        o.onStats({ ...stats });
      }
    }
  }
  o.onStats({ ...stats });
  return stats;
}
