/**
 * `npm run fuzz -- [--runs N] [--seconds S] [--target a,b] [--jobs J] [--seed X]`
 *
 * Coverage-guided fuzzing of every decoder that reads bytes from the network
 * or a user. Each target (test/fuzz/targets/*.fuzz.ts) is bundled with
 * esbuild, instrumented (engine/instrument.ts) and fuzzed in its own worker
 * thread until it has run N inputs or S seconds (default 60 s each). Crashes
 * are saved to test/fuzz/crashes/ (replayed by the normal test suite: each one
 * is a regression test), new coverage-increasing inputs to the corpus in
 * test/fuzz/corpus/. A hung input (no progress for --hang-seconds) or one that
 * exhausts the worker's heap is saved the same way. Ends with a table; exits 1
 * if anything crashed or hung.
 *
 * Not part of `npm test`: it is a long-running tool.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { build } from 'esbuild';
import type { EngineStats } from './engine/engine.js';
import { instrument } from './engine/instrument.js';
import type { WorkerInput, WorkerMessage } from './engine/worker.js';
import { CORPUS_DIR, CRASH_DIR, FUZZ_DIR, readHexLines } from './support/corpus-files.js';

const FUZZ = FUZZ_DIR;
const OUT = join(FUZZ_DIR, '../../dist/fuzz');
/** What we keep in git per target: small entries only (the corpus is also replayed by the unit tests). */
const KEEP_CORPUS = 256;
const KEEP_CORPUS_BYTES = 512;

interface Options {
  runs: number;
  seconds: number;
  targets: string[] | null;
  jobs: number;
  seed: number;
  hangSeconds: number;
  heapMb: number;
}

function parseArgs(argv: string[]): Options {
  const o: Options = {
    runs: Number.POSITIVE_INFINITY,
    seconds: Number.NaN,
    targets: null,
    jobs: 2,
    seed: Date.now() >>> 0,
    hangSeconds: 10,
    heapMb: 1024,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const v = () => {
      const x = argv[++i];
      if (x === undefined) throw new Error(`${a} needs a value`);
      return x;
    };
    if (a === '--runs') o.runs = Number(v());
    else if (a === '--seconds') o.seconds = Number(v());
    else if (a === '--target') o.targets = v().split(',');
    else if (a === '--jobs') o.jobs = Number(v());
    else if (a === '--seed') o.seed = Number(v());
    else if (a === '--hang-seconds') o.hangSeconds = Number(v());
    else if (a === '--heap-mb') o.heapMb = Number(v());
    else if (a === '--help' || a === '-h') {
      console.log(
        'npm run fuzz -- [--runs N] [--seconds S] [--target a,b] [--jobs J] [--seed X] [--hang-seconds S]',
      );
      process.exit(0);
    } else throw new Error(`unknown argument ${a}`);
  }
  // Neither given: a minute per target. --runs alone: as long as it takes.
  if (Number.isNaN(o.seconds))
    o.seconds = o.runs === Number.POSITIVE_INFINITY ? 60 : Number.POSITIVE_INFINITY;
  return o;
}

async function buildTarget(
  name: string,
): Promise<{ bundle: string; sites: number; literals: WorkerInput['literals'] }> {
  const r = await build({
    entryPoints: [join(FUZZ, 'targets', `${name}.fuzz.ts`)],
    bundle: true,
    platform: 'node',
    format: 'esm',
    packages: 'external',
    write: false,
    logLevel: 'warning',
    target: 'node20',
  });
  const ins = instrument(r.outputFiles[0]!.text, `${name}.mjs`);
  const bundle = join(OUT, `${name}.mjs`);
  writeFileSync(bundle, ins.code);
  return { bundle, sites: ins.sites, literals: ins.literals };
}

async function buildWorker(): Promise<string> {
  const file = join(OUT, 'worker.mjs');
  await build({
    entryPoints: [join(FUZZ, 'engine/worker.ts')],
    bundle: true,
    platform: 'node',
    format: 'esm',
    packages: 'external',
    outfile: file,
    logLevel: 'warning',
    target: 'node20',
  });
  return file;
}

interface Outcome {
  name: string;
  decoder: string;
  stats: EngineStats | null;
  seconds: number;
  crashes: string[];
  hang: boolean;
  newInputs: number;
}

function saveCrash(name: string, kind: string, input: Uint8Array, error: string): string {
  mkdirSync(CRASH_DIR, { recursive: true });
  const id = createHash('sha1').update(input).digest('hex').slice(0, 12);
  const file = join(CRASH_DIR, `${name}-${kind}-${id}.hex`);
  const header = error
    .split('\n')
    .slice(0, 12)
    .map((l) => `# ${l}`)
    .join('\n');
  writeFileSync(file, `${header}\n${Buffer.from(input).toString('hex')}\n`);
  return file;
}

function saveCorpus(name: string, old: Uint8Array[], fresh: Uint8Array[]): void {
  mkdirSync(CORPUS_DIR, { recursive: true });
  const seen = new Set<string>();
  const keep: string[] = [];
  // Newest first: they are what the latest code found interesting.
  for (const b of [...fresh.reverse(), ...old]) {
    if (b.length > KEEP_CORPUS_BYTES) continue;
    const h = Buffer.from(b).toString('hex');
    if (seen.has(h)) continue;
    seen.add(h);
    keep.push(h);
    if (keep.length >= KEEP_CORPUS) break;
  }
  writeFileSync(join(CORPUS_DIR, `${name}.hex`), `${keep.sort().join('\n')}\n`);
}

async function fuzzOne(name: string, worker: string, o: Options, index: number): Promise<Outcome> {
  const built = await buildTarget(name);
  const corpusFile = join(CORPUS_DIR, `${name}.hex`);
  const old = readHexLines(corpusFile);
  const decoder =
    /decoder:\s*'([^']*)'/.exec(readFileSync(join(FUZZ, 'targets', `${name}.fuzz.ts`), 'utf8'))?.[1] ?? '';
  const progress = new SharedArrayBuffer(8);
  const current = new SharedArrayBuffer(1 << 20);
  const input: WorkerInput = {
    bundle: built.bundle,
    seed: (o.seed + index * 7919) >>> 0,
    runs: o.runs,
    ms: o.seconds * 1000,
    corpus: old,
    literals: built.literals,
    progress,
    current,
  };
  const w = new Worker(worker, { workerData: input, resourceLimits: { maxOldGenerationSizeMb: o.heapMb } });
  const counters = new Int32Array(progress);
  const fresh: Uint8Array[] = [];
  const out: Outcome = { name, decoder, stats: null, seconds: 0, crashes: [], hang: false, newInputs: 0 };
  const t0 = Date.now();
  const currentInput = () => new Uint8Array(current, 0, Atomics.load(counters, 1)).slice();
  await new Promise<void>((done) => {
    let lastExecs = -1;
    let lastChange = Date.now();
    let lastPrint = Date.now();
    let finished = false;
    const watchdog = setInterval(() => {
      const e = Atomics.load(counters, 0);
      if (e !== lastExecs) {
        lastExecs = e;
        lastChange = Date.now();
      } else if (Date.now() - lastChange > o.hangSeconds * 1000) {
        out.hang = true;
        out.crashes.push(saveCrash(name, 'hang', currentInput(), `no progress for ${o.hangSeconds} s`));
        clearInterval(watchdog);
        void w.terminate();
      }
    }, 250);
    w.on('message', (m: WorkerMessage) => {
      if (m.kind === 'stats' || m.kind === 'done') {
        out.stats = m.stats;
        if (m.kind === 'done') finished = true;
        if (Date.now() - lastPrint > 15_000 || m.kind === 'done') {
          lastPrint = Date.now();
          const s = m.stats;
          console.log(
            `[${name}] ${s.execs} inputs, ${Math.round(s.execs / ((Date.now() - t0) / 1000))}/s, covered ${s.covered}/${s.sites}, corpus ${s.corpus}, crashes ${s.crashes}`,
          );
        }
      } else if (m.kind === 'input') {
        fresh.push(m.input);
      } else if (m.kind === 'crash') {
        const file = saveCrash(name, 'crash', m.input, m.error);
        out.crashes.push(file);
        console.log(`[${name}] CRASH (${m.signature}) → ${file}`);
      }
    });
    w.on('error', (e) => {
      const kind = (e as { code?: string }).code === 'ERR_WORKER_OUT_OF_MEMORY' ? 'oom' : 'error';
      out.crashes.push(saveCrash(name, kind, currentInput(), (e as Error).stack ?? String(e)));
      console.log(`[${name}] worker ${kind}: ${(e as Error).message}`);
    });
    w.on('exit', (code) => {
      clearInterval(watchdog);
      // A worker that stopped without saying it was done died: record what it was running.
      if (!finished && !out.hang && code !== 0 && out.crashes.length === 0) {
        out.crashes.push(saveCrash(name, 'error', currentInput(), `worker exited with code ${code}`));
        console.log(`[${name}] worker exited with code ${code}`);
      } else if (!finished && !out.hang && out.crashes.length === 0) {
        out.crashes.push(saveCrash(name, 'error', currentInput(), 'worker exited before it was done'));
        console.log(`[${name}] worker exited before it was done`);
      }
      done();
    });
  });
  out.seconds = (Date.now() - t0) / 1000;
  out.newInputs = fresh.length;
  saveCorpus(name, old, fresh);
  return out;
}

function table(rows: Outcome[]): string {
  const head = [
    'target',
    'decoder',
    'inputs',
    'seconds',
    'inputs/s',
    'coverage',
    'features',
    'corpus',
    'crashes',
  ];
  const body = rows.map((r) => {
    const s = r.stats;
    return [
      r.name,
      r.decoder,
      String(s?.execs ?? 0),
      r.seconds.toFixed(0),
      s ? String(Math.round(s.execs / r.seconds)) : '-',
      s ? `${s.covered}/${s.sites} (${((100 * s.covered) / Math.max(1, s.sites)).toFixed(0)}%)` : '-',
      String(s?.features ?? 0),
      String(s?.corpus ?? 0),
      r.hang ? `${r.crashes.length} (hang)` : String(r.crashes.length),
    ];
  });
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(head), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...body.map(line)].join('\n');
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  mkdirSync(OUT, { recursive: true });
  const all = readdirSync(join(FUZZ, 'targets'))
    .filter((f) => f.endsWith('.fuzz.ts'))
    .map((f) => basename(f, '.fuzz.ts'))
    .sort();
  const names = o.targets ?? all;
  for (const n of names) if (!all.includes(n)) throw new Error(`no target ${n} (have: ${all.join(', ')})`);
  console.log(
    `fuzzing ${names.length} targets, ${o.runs === Number.POSITIVE_INFINITY ? '' : `${o.runs} inputs `}${o.seconds === Number.POSITIVE_INFINITY ? '' : `${o.seconds} s `}each, ${o.jobs} at a time, seed ${o.seed}`,
  );
  const worker = await buildWorker();
  const queue = names.map((n, i) => ({ n, i }));
  const results: Outcome[] = [];
  await Promise.all(
    Array.from({ length: Math.max(1, o.jobs) }, async () => {
      for (let job = queue.shift(); job; job = queue.shift())
        results.push(await fuzzOne(job.n, worker, o, job.i));
    }),
  );
  results.sort((a, b) => a.name.localeCompare(b.name));
  const report = table(results);
  console.log(`\n${report}`);
  writeFileSync(join(OUT, 'report.md'), `${report}\n`);
  const bad = results.filter((r) => r.crashes.length > 0);
  if (bad.length > 0) {
    console.log(`\n${bad.length} target(s) crashed or hung; inputs saved in test/fuzz/crashes/`);
    process.exit(1);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(2);
});
