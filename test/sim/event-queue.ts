/**
 * The simulator's agenda: events ordered by (time, insertion order), so two
 * events at the same virtual time run in the order they were scheduled and a
 * run is fully determined by the seed. A binary heap; cancelled events stay in
 * the heap and are skipped when they come up (cheap re-arming of timers).
 */
export interface SimEvent {
  at: number;
  seq: number;
  fn: () => void;
  cancelled: boolean;
}

export class EventQueue {
  private heap: SimEvent[] = [];
  private seq = 0;
  /** Events executed so far. */
  executed = 0;

  get size(): number {
    return this.heap.length;
  }

  push(at: number, fn: () => void): SimEvent {
    const e: SimEvent = { at, seq: this.seq++, fn, cancelled: false };
    const h = this.heap;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!less(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
    return e;
  }

  /** The next live event without removing it. */
  peek(): SimEvent | undefined {
    while (this.heap.length > 0 && this.heap[0]!.cancelled) this.popRaw();
    return this.heap[0];
  }

  pop(): SimEvent | undefined {
    const e = this.peek();
    if (e) this.popRaw();
    return e;
  }

  private popRaw(): SimEvent {
    const h = this.heap;
    const top = h[0]!;
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && less(h[l]!, h[m]!)) m = l;
        if (r < h.length && less(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    return top;
  }
}

function less(a: SimEvent, b: SimEvent): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}
