/**
 * The tables printed at the end of a chaos run or soak (Markdown, so they can
 * be pasted into a report as they are), and the failure report.
 */
import type { RunResult } from './runner.js';
import { FAULT_KINDS } from './schedule.js';

const s1 = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

function table(head: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [line(head), line(head.map(() => '---')), ...rows.map(line)].join('\n');
}

/** One row per seed. */
export function seedsTable(results: readonly RunResult[]): string {
  return table(
    [
      'seed',
      'mode',
      'result',
      'rounds',
      'faults',
      'ADD ok / failed',
      'DEL ok / failed',
      'destroyed with host',
      'checks safety / converged / ping / memory',
      'worst recovery',
      'time',
    ],
    results.map((r) => [
      String(r.seed),
      r.mode,
      r.ok ? 'pass' : 'FAIL',
      String(r.rounds),
      String(Object.values(r.faults).reduce((a, b) => a + b, 0)),
      `${r.counts.added} / ${r.counts.addFailed}`,
      `${r.counts.released} / ${r.counts.delFailed}`,
      String(r.counts.destroyed),
      `${r.checks.safety} / ${r.checks.convergence} / ${r.checks.connectivity} / ${r.checks.memory}`,
      s1(r.worstRecoveryMs),
      s1(r.durationMs),
    ]),
  );
}

/** Faults injected by kind, over all runs. */
export function faultsTable(results: readonly RunResult[]): string {
  return table(
    ['fault', 'injected'],
    FAULT_KINDS.map((k) => [k, String(results.reduce((n, r) => n + r.faults[k], 0))]),
  );
}

export function totalsTable(results: readonly RunResult[]): string {
  const sum = (f: (r: RunResult) => number) => String(results.reduce((n, r) => n + f(r), 0));
  const recoveries = results.flatMap((r) => r.recoveriesMs).sort((a, b) => a - b);
  const pct = (p: number) =>
    recoveries.length
      ? s1(recoveries[Math.min(recoveries.length - 1, Math.floor(p * recoveries.length))]!)
      : '-';
  return table(
    [
      'seeds',
      'passed',
      'rounds',
      'allocations acknowledged',
      'released (DEL ok)',
      'ADD failed (refused during faults)',
      'destroyed with their host',
      'safety checks',
      'convergence checks',
      'ping-matrix checks',
      'memory verdicts',
      'recovery median / p90 / worst',
    ],
    [
      [
        String(results.length),
        String(results.filter((r) => r.ok).length),
        sum((r) => r.rounds),
        sum((r) => r.counts.added),
        sum((r) => r.counts.released),
        sum((r) => r.counts.addFailed),
        sum((r) => r.counts.destroyed),
        sum((r) => r.checks.safety),
        sum((r) => r.checks.convergence),
        sum((r) => r.checks.connectivity),
        sum((r) => r.checks.memory),
        `${pct(0.5)} / ${pct(0.9)} / ${s1(Math.max(0, ...recoveries))}`,
      ],
    ],
  );
}

/** RSS after warm-up and at the end, per router process ("h3#2": host 3's second process). */
export function rssTable(results: readonly RunResult[]): string {
  return table(
    ['seed', 'router process', 'RSS start (MB)', 'RSS end (MB)', 'judged for growth'],
    results.flatMap((r) =>
      r.rss.map((x) => [
        String(r.seed),
        x.label,
        x.startMb.toFixed(0),
        x.endMb.toFixed(0),
        x.judged ? 'yes' : 'no (short-lived)',
      ]),
    ),
  );
}

export function fullSummary(results: readonly RunResult[]): string {
  return [
    '## Chaos summary',
    totalsTable(results),
    '',
    '### Faults injected by kind',
    faultsTable(results),
    '',
    '### Per seed',
    seedsTable(results),
    '',
    '### Router memory',
    rssTable(results),
  ].join('\n');
}

/** Everything needed to understand a failed run without re-running it. */
export function failureReport(r: RunResult): string {
  return [
    `CHAOS FAILURE: seed ${r.seed} (${r.mode}) — replay with: npm run chaos -- --seeds ${r.seed}`,
    r.failure ?? '',
    '',
    '--- timeline ---',
    r.timeline.format(),
    '',
    '--- router log tails ---',
    r.logTails,
  ].join('\n');
}
