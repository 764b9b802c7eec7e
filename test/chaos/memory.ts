/**
 * Router memory over a run: RSS (VmRSS from /proc/PID/status) sampled at every
 * invariant check, per router process. "Not growing without bound" is judged
 * per process that lived long enough: after a warm-up, the median of the last
 * window must not exceed the median of the first window by more than a
 * factor and an absolute margin (V8 grows its heap in steps, and a router
 * that just reconnected four peers holds more buffers than one that did not).
 */
import { readFileSync } from 'node:fs';

export interface RssSample {
  /** ms since the run started. */
  t: number;
  kb: number;
}

export interface ProcessRss {
  /** "h3#2": host 3, its second router process. */
  label: string;
  pid: number;
  startedAt: number;
  samples: RssSample[];
}

export interface GrowthRule {
  warmupMs: number;
  windowMs: number;
  /** Only judge processes that lived at least this long. */
  minLifetimeMs: number;
  maxFactor: number;
  maxGrowthKb: number;
}

export const DEFAULT_GROWTH_RULE: GrowthRule = {
  warmupMs: 20_000,
  windowMs: 30_000,
  minLifetimeMs: 90_000,
  maxFactor: 1.5,
  maxGrowthKb: 96 * 1024,
};

/** VmRSS of a process in KB, or undefined when it is gone. */
export function readRssKb(pid: number): number | undefined {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export interface GrowthVerdict {
  label: string;
  judged: boolean;
  earlyKb?: number;
  lateKb?: number;
  ok: boolean;
}

/** Compare the first window after warm-up with the last window of one process. */
export function judgeGrowth(p: ProcessRss, rule: GrowthRule = DEFAULT_GROWTH_RULE): GrowthVerdict {
  const last = p.samples.at(-1);
  if (!last || last.t - p.startedAt < rule.minLifetimeMs) return { label: p.label, judged: false, ok: true };
  const from = p.startedAt + rule.warmupMs;
  const early = p.samples.filter((s) => s.t >= from && s.t < from + rule.windowMs).map((s) => s.kb);
  const late = p.samples.filter((s) => s.t > last.t - rule.windowMs).map((s) => s.kb);
  if (early.length === 0 || late.length === 0) return { label: p.label, judged: false, ok: true };
  const earlyKb = median(early);
  const lateKb = median(late);
  const ok = lateKb <= earlyKb * rule.maxFactor || lateKb - earlyKb <= rule.maxGrowthKb;
  return { label: p.label, judged: true, earlyKb, lateKb, ok };
}

/** RSS after warm-up (or the first sample) and at the end, in MB. */
export function startEndMb(
  p: ProcessRss,
  warmupMs = DEFAULT_GROWTH_RULE.warmupMs,
): [number, number] | undefined {
  if (p.samples.length === 0) return undefined;
  const start = p.samples.find((s) => s.t >= p.startedAt + warmupMs) ?? p.samples[0]!;
  return [start.kb / 1024, p.samples.at(-1)!.kb / 1024];
}
