/**
 * Every input the coverage-guided fuzzer (`npm run fuzz`) saved is a
 * regression test: each target replays its seeds, its corpus
 * (test/fuzz/corpus/<target>.hex, the inputs that reached new code) and every
 * crash, hang or out-of-memory input it ever found
 * (test/fuzz/crashes/<target>-*.hex) through the same oracle the fuzzer used.
 * A crash file stays in the tree after its fix, so the bug cannot come back.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { corpusOf, crashesOf } from './support/corpus-files.js';
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

  const crashes = crashesOf(target.name);
  it.skipIf(crashes.length === 0)('replays every crash the fuzzer saved, now fixed', async () => {
    for (const c of crashes) {
      await expect(
        Promise.resolve().then(() => target.run(c.input)),
        c.file,
      ).resolves.toBeUndefined();
    }
  });
});
