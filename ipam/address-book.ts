/**
 * The addresses this peer has handed out, by address and by container. The
 * allocated addresses are also kept in one sorted array so that "first free
 * address in [a, b)", "how many allocated in [a, b)" and "free runs" are
 * binary searches and linear scans over allocations, not over the range (a
 * /12 has a million addresses; a host has a few hundred containers).
 */
import type { Span } from './span.js';

export interface Allocation {
  readonly addr: number;
  readonly containerId: string;
  /** Prefix length of the subnet it was allocated in (the CIDR the container gets). */
  readonly prefix: number;
}

export class AddressBook {
  private readonly byAddr = new Map<number, Allocation>();
  private readonly byContainer = new Map<string, Set<number>>();
  private sorted: number[] = [];

  constructor(initial: Iterable<Allocation> = []) {
    for (const a of initial) this.add(a);
  }

  get size(): number {
    return this.byAddr.size;
  }

  get(addr: number): Allocation | undefined {
    return this.byAddr.get(addr);
  }

  /** Allocations of one container, in address order. */
  of(containerId: string): Allocation[] {
    const s = this.byContainer.get(containerId);
    if (!s) return [];
    return [...s].sort((a, b) => a - b).map((a) => this.byAddr.get(a)!);
  }

  all(): Allocation[] {
    return this.sorted.map((a) => this.byAddr.get(a)!);
  }

  add(a: Allocation): void {
    if (this.byAddr.has(a.addr)) throw new RangeError(`address ${a.addr} is already allocated`);
    this.byAddr.set(a.addr, a);
    let s = this.byContainer.get(a.containerId);
    if (!s) {
      s = new Set();
      this.byContainer.set(a.containerId, s);
    }
    s.add(a.addr);
    this.sorted.splice(this.lowerBound(a.addr), 0, a.addr);
  }

  remove(addr: number): Allocation | undefined {
    const a = this.byAddr.get(addr);
    if (!a) return undefined;
    this.byAddr.delete(addr);
    const s = this.byContainer.get(a.containerId)!;
    s.delete(addr);
    if (s.size === 0) this.byContainer.delete(a.containerId);
    this.sorted.splice(this.lowerBound(addr), 1);
    return a;
  }

  clear(): Allocation[] {
    const all = this.all();
    this.byAddr.clear();
    this.byContainer.clear();
    this.sorted = [];
    return all;
  }

  /** Index of the first allocated address ≥ addr. */
  private lowerBound(addr: number): number {
    let lo = 0;
    let hi = this.sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.sorted[mid]! < addr) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  countIn(start: number, end: number): number {
    return this.lowerBound(end) - this.lowerBound(start);
  }

  anyIn(start: number, end: number): boolean {
    const i = this.lowerBound(start);
    return i < this.sorted.length && this.sorted[i]! < end;
  }

  /**
   * The lowest unallocated address in [start, end), or undefined. Allocated
   * addresses from `start` on form a run start, start+1, … for as long as
   * sorted[p + j] === start + j; the first break is found by binary search.
   */
  firstFree(start: number, end: number): number | undefined {
    const p = this.lowerBound(start);
    let lo = 0;
    let hi = Math.min(this.sorted.length - p, end - start);
    // Invariant: sorted[p + j] === start + j for all j < lo.
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.sorted[p + mid] === start + mid) lo = mid + 1;
      else hi = mid;
    }
    const addr = start + lo;
    return addr < end ? addr : undefined;
  }

  /** Maximal unallocated runs inside [start, end), in order. */
  freeRuns(start: number, end: number): Span[] {
    const out: Span[] = [];
    let cur = start;
    for (let i = this.lowerBound(start); i < this.sorted.length && this.sorted[i]! < end; i++) {
      const a = this.sorted[i]!;
      if (a > cur) out.push({ start: cur, end: a });
      cur = a + 1;
    }
    if (cur < end) out.push({ start: cur, end });
    return out;
  }
}
