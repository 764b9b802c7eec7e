/**
 * Duplicate suppression for gossip broadcasts. Each broadcast carries its
 * source's incarnation (random per process start) and a sequence number; a
 * router delivers and relays each (source, incarnation, seq) at most once.
 *
 * With an agreed topology the broadcast trees already deliver exactly once;
 * this is the safety net while routers disagree (during churn a peer can be
 * reached by two relays, and a relay that does not know the source floods),
 * and it makes loops impossible even with inconsistent routes — the storms
 * Weave suffered at scale cannot form.
 *
 * Per source: the highest seq seen and a 32-bit bitmap of the 32 below it.
 * Anything older than the window counts as seen (it would be a straggler from
 * a flood; periodic gossip repairs the rare real loss). A new incarnation
 * replaces the old window. Bounded by the number of sources (peers).
 */
interface Window {
  incarnation: number;
  max: number;
  /** bit i set = seq (max - 1 - i) seen. */
  bits: number;
}

/**
 * Sources remembered at most. A broadcast may name any source (we relay ones
 * we do not know yet), so without a bound a peer could make us keep a window
 * per made-up name; the oldest source is forgotten first, which can only let
 * one late duplicate of it through once.
 */
export const MAX_BROADCAST_SOURCES = 1 << 16;

export class BroadcastWindow {
  private readonly sources = new Map<string, Window>();

  constructor(
    private readonly size = 32,
    private readonly maxSources = MAX_BROADCAST_SOURCES,
  ) {
    if (size < 1 || size > 32) throw new RangeError('broadcast window: size must be 1..32');
  }

  /** Sources remembered now. */
  get sourceCount(): number {
    return this.sources.size;
  }

  /** True if this broadcast is new (and marks it seen); false for a duplicate. */
  accept(src: string, incarnation: number, seq: number): boolean {
    const w = this.sources.get(src);
    if (!w || w.incarnation !== incarnation) {
      if (!w && this.sources.size >= this.maxSources) {
        this.sources.delete(this.sources.keys().next().value as string);
      }
      this.sources.set(src, { incarnation, max: seq, bits: 0 });
      return true;
    }
    if (seq > w.max) {
      const shift = seq - w.max;
      // The old max becomes bit (shift - 1); older bits move up by shift.
      w.bits = shift > 32 ? 0 : shift === 32 ? 1 << 31 : ((w.bits << shift) | (1 << (shift - 1))) >>> 0;
      w.max = seq;
      return true;
    }
    if (seq === w.max) return false;
    const age = w.max - seq - 1;
    if (age >= this.size) return false;
    const mask = (1 << age) >>> 0;
    if ((w.bits & mask) !== 0) return false;
    w.bits = (w.bits | mask) >>> 0;
    return true;
  }

  /** Forget a source (it was garbage-collected). */
  forget(src: string): void {
    this.sources.delete(src);
  }
}
