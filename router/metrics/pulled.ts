/**
 * prom-client metrics whose values are read from a source at scrape time
 * (prom-client calls `collect` while rendering). Two shapes cover everything
 * weft exports:
 *
 * - `pulledGauge`: the current value of each label set. A label set seen once
 *   keeps being exported (at 0 when absent now), so a series does not vanish
 *   when, say, the last established connection drops: it reads 0.
 * - `pulledCounter`: cumulative readings made monotonic per counting thing
 *   (see monotonic.ts), then summed per label set.
 *
 * A source that throws is reported through `onError` and the metric keeps the
 * values of the previous scrape rather than reading as a misleading 0.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import { MonotonicTotals } from './monotonic.js';

export type Labels = Record<string, string>;

export interface LabelledValue {
  labels: Labels;
  value: number;
}

export interface CumulativeReading extends LabelledValue {
  /** What is counting (a peer slot, a device); resets are tracked per key. Default: the labels. */
  key?: string;
}

export type PullErrorHandler = (metric: string, err: unknown) => void;

interface PulledOptions<T> {
  name: string;
  help: string;
  labelNames?: readonly string[];
  read(): T[];
  onError: PullErrorHandler;
}

/** A stable key for a label set (order-independent). */
export function labelKey(labels: Labels): string {
  return JSON.stringify(
    Object.keys(labels)
      .sort()
      .map((k) => [k, labels[k]]),
  );
}

function tryRead<T>(opts: PulledOptions<T>): T[] | undefined {
  try {
    return opts.read();
  } catch (err) {
    opts.onError(opts.name, err);
    return undefined;
  }
}

export function pulledGauge(registry: Registry, opts: PulledOptions<LabelledValue>): Gauge<string> {
  const seen = new Map<string, Labels>();
  return new Gauge({
    name: opts.name,
    help: opts.help,
    labelNames: opts.labelNames ?? [],
    registers: [registry],
    collect(this: Gauge<string>) {
      const values = tryRead(opts);
      if (values === undefined) return;
      this.reset();
      const now = new Map<string, LabelledValue>();
      for (const v of values) {
        const k = labelKey(v.labels);
        const prev = now.get(k);
        now.set(k, { labels: v.labels, value: (prev?.value ?? 0) + v.value });
        seen.set(k, v.labels);
      }
      for (const [k, labels] of seen) this.set(labels, now.get(k)?.value ?? 0);
    },
  });
}

export function pulledCounter(registry: Registry, opts: PulledOptions<CumulativeReading>): Counter<string> {
  const totals = new MonotonicTotals();
  const keyGroup = new Map<string, string>();
  // Per label set: its labels, and the totals of counting things that are gone.
  const groups = new Map<string, { labels: Labels; retired: number }>();
  return new Counter({
    name: opts.name,
    help: opts.help,
    labelNames: opts.labelNames ?? [],
    registers: [registry],
    collect(this: Counter<string>) {
      const readings = tryRead(opts);
      if (readings === undefined) return;
      const seen = new Set<string>();
      for (const r of readings) {
        const group = labelKey(r.labels);
        const key = `${group}#${r.key ?? ''}`;
        if (!groups.has(group)) groups.set(group, { labels: r.labels, retired: 0 });
        keyGroup.set(key, group);
        seen.add(key);
        totals.observe(key, r.value);
      }
      for (const [key, group] of keyGroup) {
        if (seen.has(key)) continue;
        groups.get(group)!.retired += totals.retire(key);
        keyGroup.delete(key);
      }
      const sums = new Map<string, number>();
      for (const [group, g] of groups) sums.set(group, g.retired);
      for (const [key, total] of totals.entries()) {
        const group = keyGroup.get(key)!;
        sums.set(group, (sums.get(group) ?? 0) + total);
      }
      this.reset();
      for (const [group, value] of sums) this.inc(groups.get(group)!.labels, value);
    },
  });
}

/**
 * Wrap a source read so that it runs once per scrape: prom-client runs the
 * collect functions of one scrape synchronously one after another, so a value
 * cached until the next microtask is shared by every metric of that scrape
 * (consistent with each other, and the source is asked once).
 */
export function oncePerScrape<T>(read: () => T): () => T {
  let cached: { value: T } | undefined;
  return () => {
    if (cached === undefined) {
      cached = { value: read() };
      queueMicrotask(() => {
        cached = undefined;
      });
    }
    return cached.value;
  };
}
