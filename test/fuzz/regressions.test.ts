/**
 * Every input the coverage-guided fuzzer (`npm run fuzz`) saved is a
 * regression test: each target replays its seeds, its corpus
 * (test/fuzz/corpus/<target>.hex, the inputs that reached new code) and every
 * crash, hang or out-of-memory input it ever found
 * (test/fuzz/crashes/<target>-*.hex) through the same oracle the fuzzer used.
 * A crash file stays in the tree after its fix, so the bug cannot come back.
 */
import { existsSync, readdirSync } from 'node:fs';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { CRASH_DIR, corpusOf, crashesOf } from './support/corpus-files.js';
import { ALL_TARGETS } from './targets/all.js';

afterAll(async () => {
  for (const t of ALL_TARGETS) await t.dispose?.();
});

describe.each(ALL_TARGETS.map((t) => [t.name, t] as const))('fuzz target %s', (_name, target) => {
  it('accepts its seeds (valid encodings) without a failed oracle', async () => {
    const seeds = target.seeds();
    expect(seeds.length).toBeGreaterThan(0);
    for (const s of seeds) await target.run(s);
  });

  it('replays its saved corpus without a failed oracle', async () => {
    for (const input of corpusOf(target.name)) await target.run(input);
  });

  it('survives random mutations of its seeds (property-based, in every test run)', async () => {
    const seeds = target.seeds();
    const edit = fc.oneof(
      fc.tuple(fc.constant('set' as const), fc.nat(), fc.nat({ max: 255 })),
      fc.tuple(fc.constant('cut' as const), fc.nat(), fc.nat({ max: 16 })),
      fc.tuple(fc.constant('insert' as const), fc.nat(), fc.uint8Array({ minLength: 1, maxLength: 8 })),
    );
    const mutated = fc.tuple(fc.nat(), fc.array(edit, { minLength: 1, maxLength: 6 })).map(([i, edits]) => {
      let b = Array.from(seeds[i % seeds.length]!);
      for (const [kind, at, x] of edits) {
        const pos = b.length === 0 ? 0 : at % b.length;
        if (kind === 'set' && b.length > 0) b[pos] = x as number;
        else if (kind === 'cut') b.splice(pos, x as number);
        else if (kind === 'insert') b.splice(pos, 0, ...(x as Uint8Array));
      }
      b = b.slice(0, target.maxLen);
      return Uint8Array.from(b);
    });
    await fc.assert(
      fc.asyncProperty(fc.oneof(mutated, fc.uint8Array({ maxLength: 64 })), async (input) => {
        await target.run(input);
      }),
      { numRuns: 150 },
    );
  });
});

describe('saved crashes', () => {
  it('every crash, hang and out-of-memory input ever saved belongs to a target and passes now', async () => {
    const files = existsSync(CRASH_DIR) ? readdirSync(CRASH_DIR).filter((f) => f.endsWith('.hex')) : [];
    const replayed: string[] = [];
    for (const target of ALL_TARGETS) {
      for (const c of crashesOf(target.name)) {
        await expect(
          Promise.resolve().then(() => target.run(c.input)),
          c.file,
        ).resolves.toBeUndefined();
        replayed.push(c.file);
      }
    }
    // No orphans: a file whose target was renamed or removed would silently stop being a test.
    expect(replayed.sort()).toEqual(files.sort());
    expect(files.length).toBeGreaterThan(0);
  });
});
