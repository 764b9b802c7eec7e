/**
 * Turns "counter since X started" readings into a monotonic total for a
 * Prometheus counter. Sources report cumulative values that can go backwards
 * when the thing counting is recreated (a sleeve peer slot freed and reused,
 * a VXLAN device recreated, per-peer counters of a forgotten peer vanishing
 * from a sum). Prometheus would read a drop as a counter reset and rate() over
 * it correctly, but only if it sees it; between scrapes a reset followed by
 * growth past the old value would be invisible and under-count. So we keep our
 * own total: growth is added, and after a drop the new reading counts from 0.
 */
export class MonotonicTotals {
  private readonly last = new Map<string, number>();
  private readonly totals = new Map<string, number>();

  /** Feed the latest cumulative reading for `key`; returns the monotonic total. */
  observe(key: string, reading: number): number {
    const value = Number.isFinite(reading) && reading > 0 ? reading : 0;
    const prev = this.last.get(key);
    const total = this.totals.get(key) ?? 0;
    const delta = prev === undefined ? value : value >= prev ? value - prev : value;
    this.last.set(key, value);
    const next = total + delta;
    this.totals.set(key, next);
    return next;
  }

  /** Every key seen so far with its total (keys whose source vanished keep their last total). */
  entries(): [string, number][] {
    return [...this.totals.entries()];
  }
}
