import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BroadcastWindow } from './broadcast-window.js';

describe('BroadcastWindow', () => {
  it('accepts each (source, incarnation, seq) at most once, and every first sighting within the window', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            src: fc.constantFrom('a', 'b'),
            inc: fc.constantFrom(1, 2),
            seq: fc.integer({ min: 0, max: 80 }),
          }),
          { maxLength: 200 },
        ),
        (events) => {
          const w = new BroadcastWindow(32);
          const seen = new Set<string>();
          // Model: per source, the incarnation in force and the highest seq seen in it.
          const model = new Map<string, { inc: number; max: number }>();
          for (const e of events) {
            const key = `${e.src}/${e.inc}/${e.seq}`;
            const m = model.get(e.src);
            const fresh = !m || m.inc !== e.inc;
            const accepted = w.accept(e.src, e.inc, e.seq);
            if (fresh) {
              expect(accepted).toBe(true);
              // A new incarnation starts a new window: forget the old one's sightings.
              for (const k of [...seen]) if (k.startsWith(`${e.src}/`)) seen.delete(k);
              model.set(e.src, { inc: e.inc, max: e.seq });
            } else if (seen.has(key)) {
              expect(accepted).toBe(false);
            } else if (e.seq >= m.max - 32) {
              expect(accepted).toBe(true);
            } else {
              expect(accepted).toBe(false); // too old: treated as seen
            }
            if (accepted) {
              seen.add(key);
              const cur = model.get(e.src)!;
              cur.max = Math.max(cur.max, e.seq);
            }
          }
        },
      ),
      { numRuns: 500 },
    );
  });

  it('handles big jumps in sequence numbers', () => {
    const w = new BroadcastWindow(32);
    expect(w.accept('a', 1, 0)).toBe(true);
    expect(w.accept('a', 1, 32)).toBe(true);
    expect(w.accept('a', 1, 0)).toBe(false);
    expect(w.accept('a', 1, 1)).toBe(true);
    expect(w.accept('a', 1, 1000)).toBe(true);
    expect(w.accept('a', 1, 999)).toBe(true);
    expect(w.accept('a', 1, 999)).toBe(false);
    w.forget('a');
    expect(w.accept('a', 1, 999)).toBe(true);
  });
});
