/**
 * One seed, start to finish: a fresh five-host cluster in the seed's mode,
 * the seed's schedule for the time budget, the cluster torn down (always).
 */
import { ChaosCluster } from './cluster.js';
import { ChaosRun, DEFAULT_RUN_OPTIONS, type RunOptions, type RunResult } from './runner.js';
import { FAULT_KINDS, generateSchedule, modeOf, type ScheduleOptions } from './schedule.js';
import { Timeline } from './timeline.js';

export interface SeedOptions {
  run?: Partial<RunOptions>;
  schedule?: ScheduleOptions;
  logLevel?: string;
}

export async function runSeed(seed: number, opts: SeedOptions = {}): Promise<RunResult> {
  const runOpts: RunOptions = { ...DEFAULT_RUN_OPTIONS, ...opts.run };
  const schedule = generateSchedule(seed, opts.schedule);
  let cluster: ChaosCluster;
  try {
    cluster = await ChaosCluster.create({
      mode: schedule.mode,
      range: schedule.range,
      ...(opts.logLevel ? { logLevel: opts.logLevel } : {}),
    });
  } catch (e) {
    return setupFailure(seed, `cluster set-up failed: ${(e as Error).stack ?? e}`);
  }
  try {
    return await new ChaosRun(cluster, schedule, runOpts).run();
  } finally {
    await cluster.close();
  }
}

function setupFailure(seed: number, failure: string): RunResult {
  const timeline = new Timeline();
  timeline.add('VIOLATION', failure);
  return {
    seed,
    mode: modeOf(seed),
    ok: false,
    failure,
    rounds: 0,
    faults: Object.fromEntries(FAULT_KINDS.map((k) => [k, 0])) as RunResult['faults'],
    counts: { added: 0, addFailed: 0, released: 0, delFailed: 0, destroyed: 0 },
    checks: { safety: 0, convergence: 0, connectivity: 0, memory: 0 },
    recoveriesMs: [],
    worstRecoveryMs: 0,
    rss: [],
    durationMs: 0,
    timeline,
    logTails: '',
  };
}
