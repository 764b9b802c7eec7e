/**
 * Half-open address intervals [start, end) and sorted, disjoint lists of them.
 * Addresses are unsigned 32-bit numbers; `end` may be 2^32.
 */
export interface Span {
  readonly start: number;
  readonly end: number;
}

export function spanSize(s: Span): number {
  return s.end - s.start;
}

export function spansTotal(spans: readonly Span[]): number {
  let n = 0;
  for (const s of spans) n += s.end - s.start;
  return n;
}

/** Append, coalescing with the last span when adjacent. Input must arrive in order. */
export function pushSpan(out: Span[], start: number, end: number): void {
  if (end <= start) return;
  const last = out[out.length - 1];
  if (last && last.end === start) out[out.length - 1] = { start: last.start, end };
  else out.push({ start, end });
}

/** a − b for sorted disjoint span lists. */
export function subtractSpans(a: readonly Span[], b: readonly Span[]): Span[] {
  const out: Span[] = [];
  let j = 0;
  for (const s of a) {
    let cur = s.start;
    while (j < b.length && b[j]!.end <= cur) j++;
    let k = j;
    while (cur < s.end && k < b.length && b[k]!.start < s.end) {
      const x = b[k]!;
      if (x.start > cur) pushSpan(out, cur, x.start);
      cur = Math.max(cur, x.end);
      k++;
    }
    if (cur < s.end) pushSpan(out, cur, s.end);
  }
  return out;
}

/** a ∩ b for sorted disjoint span lists. */
export function intersectSpans(a: readonly Span[], b: readonly Span[]): Span[] {
  const out: Span[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const x = a[i]!;
    const y = b[j]!;
    const lo = Math.max(x.start, y.start);
    const hi = Math.min(x.end, y.end);
    if (lo < hi) pushSpan(out, lo, hi);
    if (x.end < y.end) i++;
    else j++;
  }
  return out;
}

export function spanContains(s: Span, addr: number): boolean {
  return addr >= s.start && addr < s.end;
}

/**
 * The largest CIDR-aligned block inside [start, end): aligned blocks are what
 * a donor gives away, so that what a peer owns stays describable as a few CIDRs.
 */
export function largestAlignedBlock(start: number, end: number): Span | undefined {
  if (end <= start) return undefined;
  let best: Span | undefined;
  let cur = start;
  while (cur < end) {
    // The biggest power of two that `cur` is aligned to and that still fits.
    let size = cur === 0 ? 2 ** 32 : 2 ** countTrailingZeros(cur);
    while (size > end - cur) size /= 2;
    if (!best || size > best.end - best.start) best = { start: cur, end: cur + size };
    cur += size;
  }
  return best;
}

function countTrailingZeros(n: number): number {
  // n < 2^32 and > 0
  let c = 0;
  while (n % 2 === 0) {
    n /= 2;
    c++;
  }
  return c;
}
