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

  /** Every key being tracked, with its total. */
  entries(): [string, number][] {
    return [...this.totals.entries()];
  }

  /**
   * Stop tracking `key` (its source is gone, e.g. a forgotten peer) and hand
   * back its total, so the caller can keep it in an aggregate: memory stays
   * bounded by the things that exist now, not by every thing ever seen. A key
   * that comes back later counts from its next reading as new.
   */
  retire(key: string): number {
    const total = this.totals.get(key) ?? 0;
    this.totals.delete(key);
    this.last.delete(key);
    return total;
  }
}
