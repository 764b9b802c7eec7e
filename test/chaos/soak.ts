/**
 * The long chaos soak: `npm run chaos -- --minutes N [--seeds a,b,…] [--budget S] [--out FILE]`.
 *
 * Seeds run one after another until N minutes have passed (a seed that has
 * started always finishes). Each seed gets a FRESH cluster — new lab, new data
 * dirs, routers started together — so a failing seed replays on its own with
 * `--seeds <seed>` and never depends on what an earlier seed left behind;
 * within a seed the routers live for the whole run (minus the faults), which
 * is the window router memory is judged over. Without --seeds, seeds count up
 * from --first (default 1); with --seeds they are cycled. Even seeds run
 * without a password (fastdp), odd ones encrypted (sleeve).
 *
 * Prints each seed's timeline as it goes, the failure report of every failed
 * seed, and at the end the summary tables (also written to --out). Exit code 1
 * if any seed failed.
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { runSeed } from './run-seed.js';
import type { RunResult } from './runner.js';
import { failureReport, fullSummary } from './summary.js';

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '10' },
    seeds: { type: 'string' },
    first: { type: 'string', default: '1' },
    budget: { type: 'string', default: '100' },
    out: { type: 'string' },
    'stop-on-failure': { type: 'boolean', default: false },
    quiet: { type: 'boolean', default: false },
  },
});

const minutes = Number(values.minutes);
const budgetMs = Number(values.budget) * 1000;
if (!(minutes > 0) || !(budgetMs > 0)) {
  console.error(
    'usage: npm run chaos -- --minutes N [--seeds a,b,…] [--first S] [--budget SECONDS] [--out FILE]',
  );
  process.exit(2);
}
const list = values.seeds?.split(',').map((s) => Number(s.trim()));
if (list?.some((s) => !Number.isSafeInteger(s) || s < 0)) {
  console.error(`--seeds: want non-negative integers, got ${values.seeds}`);
  process.exit(2);
}

const results: RunResult[] = [];
const started = Date.now();
let stop = false;
process.once('SIGINT', () => {
  console.log('chaos: SIGINT — finishing the current seed, then the summary');
  stop = true;
});

for (let k = 0; !stop && Date.now() - started < minutes * 60_000; k++) {
  const seed = list ? list[k % list.length]! : Number(values.first) + k;
  console.log(`\n=== seed ${seed} (${((Date.now() - started) / 60_000).toFixed(1)} of ${minutes} min) ===`);
  const r = await runSeed(seed, {
    run: { budgetMs, ...(values.quiet ? {} : { echo: (l) => console.log(l) }) },
  });
  results.push(r);
  console.log(
    `=== seed ${seed}: ${r.ok ? 'pass' : 'FAIL'} (${r.rounds} rounds, ${(r.durationMs / 1000).toFixed(0)} s)`,
  );
  if (!r.ok) {
    console.log(failureReport(r));
    if (values['stop-on-failure']) break;
  }
}

const summary = `${fullSummary(results)}\n\nsoak: ${results.length} seeds in ${((Date.now() - started) / 60_000).toFixed(1)} min, ${results.filter((r) => !r.ok).length} failed${
  results.some((r) => !r.ok)
    ? ` (seeds ${results
        .filter((r) => !r.ok)
        .map((r) => r.seed)
        .join(', ')})`
    : ''
}\n`;
console.log(`\n${summary}`);
if (values.out) writeFileSync(values.out, summary);
process.exit(results.every((r) => r.ok) && results.length > 0 ? 0 : 1);
