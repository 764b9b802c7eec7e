/**
 * Worker-thread entry: load one instrumented target bundle and fuzz it. The
 * parent (test/fuzz/run.ts) watches the shared progress counter and kills a
 * worker whose input hangs.
 */
import { pathToFileURL } from 'node:url';
import { parentPort, workerData } from 'node:worker_threads';
import type { FuzzTarget } from '../targets/target.js';
import { type EngineStats, installHooks, runEngine } from './engine.js';

export interface WorkerInput {
  bundle: string;
  seed: number;
  runs: number;
  ms: number;
  corpus: Uint8Array[];
  literals: { numbers: number[]; strings: string[] };
  progress: SharedArrayBuffer;
  current: SharedArrayBuffer;
}

export type WorkerMessage =
  | { kind: 'stats'; stats: EngineStats }
  | { kind: 'crash'; input: Uint8Array; error: string; signature: string }
  | { kind: 'input'; input: Uint8Array }
  | { kind: 'done'; stats: EngineStats };

function dictionaryOf(lit: WorkerInput['literals']): Uint8Array[] {
  const enc = new TextEncoder();
  const out: Uint8Array[] = [];
  for (const s of lit.strings) out.push(enc.encode(s));
  for (const n of lit.numbers) {
    if (!Number.isInteger(n) || n < 0 || n > 0xffffffff || n < 2) continue;
    const w = n < 0x100 ? 1 : n < 0x10000 ? 2 : 4;
    const b = new Uint8Array(w);
    for (let i = 0; i < w; i++) b[w - 1 - i] = Math.floor(n / 2 ** (8 * i)) & 0xff;
    out.push(b, b.slice().reverse());
  }
  return out;
}

async function main(): Promise<void> {
  const w = workerData as WorkerInput;
  const port = parentPort!;
  const hooks = installHooks();
  // Targets may wait on unref'd timers (services that must not keep a daemon alive); the
  // worker must not exit while they do, or a pending request would look like the end.
  const keepAlive = setInterval(() => {}, 1 << 30);
  const mod = (await import(pathToFileURL(w.bundle).href)) as { target: FuzzTarget };
  const target = mod.target;
  const post = (m: WorkerMessage) => port.postMessage(m);
  const stats = await runEngine({
    target,
    seed: w.seed,
    runs: w.runs,
    ms: w.ms,
    corpus: w.corpus,
    dictionary: [...dictionaryOf(w.literals), ...(target.tokens?.() ?? [])],
    shared: { counters: new Int32Array(w.progress), current: new Uint8Array(w.current) },
    hooks,
    onStats: (s) => post({ kind: 'stats', stats: s }),
    onCrash: (c) => post({ kind: 'crash', ...c }),
    onNewInput: (input) => post({ kind: 'input', input }),
  });
  post({ kind: 'done', stats });
  clearInterval(keepAlive);
  await target.dispose?.();
}

main().catch((e) => {
  // Loading the target failed: report as a crash of the harness itself.
  parentPort?.postMessage({
    kind: 'crash',
    input: new Uint8Array(0),
    error: e instanceof Error ? (e.stack ?? e.message) : String(e),
    signature: 'harness',
  } satisfies WorkerMessage);
  process.exit(1);
});
