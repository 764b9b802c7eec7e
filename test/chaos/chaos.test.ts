/**
 * The short chaos schedule that runs with every `npm test`: five hosts, real
 * routers, real data plane, containers attached by weft-net, about 100 s of
 * seeded faults (partitions, asymmetric cuts, loss, throttling, kill -9,
 * re-provisioned hosts, CNI bursts) with the invariants checked throughout.
 * CHAOS_SEED picks another seed; the long soak is `npm run chaos`.
 */
import { expect, it } from 'vitest';
import { runSeed } from './run-seed.js';
import { failureReport, fullSummary } from './summary.js';

const seed = Number(process.env.CHAOS_SEED ?? 7);

it(`chaos: seed ${seed} on five real routers keeps every invariant`, async () => {
  const result = await runSeed(seed, {
    run: { budgetMs: 100_000 },
    // Short holds and no partition longer than the mesh's read deadline: it must fit the suite.
    schedule: { holdMs: [5_000, 12_000], longPartitionChance: 0 },
  });
  console.log(result.ok ? `${result.timeline.format()}\n\n${fullSummary([result])}` : failureReport(result));
  expect(result.ok, result.failure).toBe(true);
  expect(result.rounds).toBeGreaterThan(0);
  expect(result.counts.added).toBeGreaterThan(0);
}, 290_000);
