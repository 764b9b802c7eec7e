/**
 * The chaos suite's pure parts, without a kernel: the schedule stays within
 * its documented bounds and replays from its seed, the nftables rendering of
 * underlay faults, the ledger's state machine, and — most important — that
 * every invariant check actually fails on the picture it exists to catch.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type ContainerObs,
  checkSafety,
  type RingObs,
  type RouterObs,
  ringAgreementProblems,
  ringCoverageProblems,
} from './invariants.js';
import { allocationIdOf, containerIdOf, Ledger } from './ledger.js';
import { judgeGrowth, type ProcessRss } from './memory.js';
import { noFaults, partitionCuts, renderRuleset } from './netfaults.js';
import { netFaultsOf } from './runner.js';
import { FAULT_KINDS, generateSchedule, kindsOf, modeOf, rangeOf } from './schedule.js';

describe('schedule', () => {
  it('is a pure function of the seed', () => {
    fc.assert(
      fc.property(fc.nat(1_000_000), (seed) => {
        expect(generateSchedule(seed, { rounds: 30 })).toStrictEqual(generateSchedule(seed, { rounds: 30 }));
      }),
      { numRuns: 30 },
    );
    expect(generateSchedule(1, { rounds: 30 })).not.toStrictEqual(generateSchedule(2, { rounds: 30 }));
  });

  it('alternates fastdp and encrypted, roomy and tight ranges', () => {
    expect([0, 1, 2, 3].map(modeOf)).toStrictEqual(['fastdp', 'encrypted', 'fastdp', 'encrypted']);
    expect([0, 1, 2, 3].map(rangeOf)).toStrictEqual([
      '10.32.0.0/22',
      '10.32.0.0/22',
      '10.32.0.0/27',
      '10.32.0.0/27',
    ]);
  });

  it('stays within its bounds: never a double fault weft does not promise to survive', () => {
    fc.assert(
      fc.property(fc.nat(1_000_000), (seed) => {
        const s = generateSchedule(seed, { rounds: 40, holdMs: [5_000, 12_000], longPartitionChance: 0.2 });
        let removed: number | null = null;
        for (const r of s.rounds) {
          if (r.replace) {
            expect(r.replace.host).toBe(removed);
            removed = null;
          }
          const present = [1, 2, 3, 4, 5].filter((h) => h !== removed);
          const touched = [
            ...(r.groups?.flat() ?? []),
            ...(r.cuts?.flat() ?? []),
            ...(r.loss?.map(([h]) => h) ?? []),
            ...(r.throttle?.map(([h]) => h) ?? []),
            ...(r.kill?.hosts ?? []),
            ...(r.freeze?.hosts ?? []),
            ...(r.reprovision ? [r.reprovision.host, r.reprovision.rmpeerFrom] : []),
            ...(r.remove ? [r.remove.host, r.remove.rmpeerFrom] : []),
            ...r.bursts.flatMap((b) => b.adds),
          ];
          for (const h of touched) expect(present).toContain(h);
          // At most two routers down at once, and a wiped host is never also killed.
          const down = new Set([
            ...(r.kill?.hosts ?? []),
            ...(r.freeze?.hosts ?? []),
            ...(r.reprovision ? [r.reprovision.host] : []),
          ]);
          expect(down.size).toBeLessThanOrEqual(2);
          expect([r.kill, r.freeze, r.reprovision, r.remove].filter(Boolean).length).toBeLessThanOrEqual(1);
          if (r.remove?.rmpeerAlso !== undefined) {
            expect(r.remove.rmpeerAlso).not.toBe(r.remove.host);
            expect(r.remove.rmpeerAlso).not.toBe(r.remove.rmpeerFrom);
          }
          if (r.freeze?.thawAtMs !== undefined) expect(r.freeze.thawAtMs).toBeLessThan(r.holdMs);
          if (r.remove) {
            expect(removed).toBeNull();
            expect(r.remove.rmpeerFrom).not.toBe(r.remove.host);
            removed = r.remove.host;
          }
          if (r.groups) {
            expect(r.groups.flat().sort()).toStrictEqual(present);
            expect(r.groups.every((g) => g.length > 0)).toBe(true);
          }
          for (const [a, b] of r.cuts ?? []) expect(a).not.toBe(b);
          if (r.long || r.freeze) expect(r.holdMs).toBeGreaterThanOrEqual(5_000);
          else {
            expect(r.holdMs).toBeGreaterThanOrEqual(5_000);
            expect(r.holdMs).toBeLessThanOrEqual(12_000);
          }
          for (const b of r.bursts) expect(b.atMs).toBeLessThan(r.holdMs);
          if (r.kill?.restartAtMs !== undefined) expect(r.kill.restartAtMs).toBeGreaterThan(r.kill.atMs);
        }
      }),
      { numRuns: 100 },
    );
  });

  it('injects every kind of fault across a few seeds, and nothing long when told not to', () => {
    const kinds = new Set(
      Array.from({ length: 40 }, (_, seed) =>
        generateSchedule(seed, { rounds: 20 }).rounds.flatMap(kindsOf),
      ).flat(),
    );
    for (const k of FAULT_KINDS) expect(kinds).toContain(k);
    const short = Array.from({ length: 50 }, (_, seed) =>
      generateSchedule(seed, { rounds: 20, longPartitionChance: 0 }),
    ).flatMap((s) => s.rounds);
    expect(short.some((r) => r.long)).toBe(false);
    expect(Math.max(...short.map((r) => r.holdMs))).toBeLessThanOrEqual(18_000);
  });
});

describe('underlay faults', () => {
  const ipOf = (h: number) => `198.18.0.${h}`;

  it('a partition cuts every pair across groups in both directions, and nothing within a group', () => {
    const cuts = partitionCuts([[1, 2], [3], [4, 5]]);
    const key = (a: number, b: number) => `${a}-${b}`;
    const set = new Set(cuts.map(([a, b]) => key(a, b)));
    const group = (h: number) => (h <= 2 ? 0 : h === 3 ? 1 : 2);
    for (let a = 1; a <= 5; a++)
      for (let b = 1; b <= 5; b++) if (a !== b) expect(set.has(key(a, b))).toBe(group(a) !== group(b));
  });

  it('renders drops for the host that sends, loss both ways, and no table for a healthy host', () => {
    const f = noFaults();
    f.cuts.push([1, 3], [1, 2], [2, 1]);
    f.loss.set(2, 20);
    const h1 = renderRuleset(1, f, ipOf)!;
    expect(h1).toContain('ip daddr { 198.18.0.2, 198.18.0.3 } drop');
    expect(h1).not.toContain('numgen');
    const h2 = renderRuleset(2, f, ipOf)!;
    expect(h2).toContain('ip daddr { 198.18.0.1 } drop');
    expect(h2).toContain('ip daddr 198.18.0.0/24 numgen random mod 100 < 20 drop');
    expect(h2).toContain('ip saddr 198.18.0.0/24 numgen random mod 100 < 20 drop');
    expect(renderRuleset(3, f, ipOf)).toBeNull();
    f.loss.set(4, 0);
    expect(() => renderRuleset(4, f, ipOf)).toThrow(RangeError);
  });

  it('a round becomes one declarative fault state', () => {
    const f = netFaultsOf({
      index: 0,
      groups: [[1], [2, 3, 4, 5]],
      cuts: [[3, 4]],
      loss: [[2, 10]],
      throttle: [[5, 512]],
      bursts: [],
      holdMs: 1,
    });
    expect(f.cuts).toHaveLength(9);
    expect(f.loss.get(2)).toBe(10);
    expect(f.throttle.get(5)).toBe(512);
  });
});

describe('ledger', () => {
  it('follows ADD/DEL outcomes and ignores outcomes for containers destroyed with their host', () => {
    const l = new Ledger();
    l.begin('a', 1, 0, 'ns-a');
    l.begin('b', 1, 0, 'ns-b');
    l.begin('c', 2, 0, 'ns-c');
    expect(() => l.begin('a', 1, 0, 'x')).toThrow();
    expect(l.addSucceeded('a', '10.32.0.1', {}, 5)).toBe(true);
    expect(l.addFailed('c')).toBe(true);
    expect(l.delFailed('c')).toBe(true);
    expect(l.get('c')!.state).toBe('del-pending');
    expect(l.delStarted('c')).toBe(true);
    expect(l.delSucceeded('c')).toBe(true);
    expect(l.destroyHost(1, 0).map((r) => r.id)).toStrictEqual(['a', 'b']);
    expect(l.addSucceeded('b', '10.32.0.2', {}, 6)).toBe(false);
    expect(l.get('b')!.state).toBe('destroyed');
    expect(() => l.delSucceeded('a')).not.toThrow();
    expect(l.counts).toMatchObject({ added: 1, addFailed: 1, released: 1, delFailed: 1, destroyed: 2 });
    expect(() => l.delSucceeded('zzz')).toThrow();
  });

  it('allocation ids round-trip', () => {
    expect(containerIdOf(allocationIdOf('k7-c3'))).toBe('k7-c3');
    expect(containerIdOf('weave:abc')).toBeUndefined();
  });
});

describe('invariant checks fail on what they guard against', () => {
  const ring = (entries: Array<[string, string, string]>, range = '10.32.0.0/28'): RingObs => ({
    state: 'ready',
    ringId: 'r1',
    range,
    entries: entries.map(([first, last, owner]) => ({
      first,
      last,
      owner,
      version: 1,
      size: Number(last.split('.')[3]) - Number(first.split('.')[3]) + 1,
    })),
    dead: [],
  });
  const tiles = ring([
    ['10.32.0.0', '10.32.0.7', 'p1/1'],
    ['10.32.0.8', '10.32.0.15', 'p2/1'],
  ]);
  function world() {
    const l = new Ledger();
    l.begin('a', 1, 0, 'na');
    l.addSucceeded('a', '10.32.0.2', {}, 1);
    l.begin('b', 2, 0, 'nb');
    l.addSucceeded('b', '10.32.0.9', {}, 1);
    const routers: RouterObs[] = [
      {
        host: 1,
        generation: 0,
        allocations: [{ containerId: allocationIdOf('a'), ip: '10.32.0.2' }],
        ring: tiles,
        self: 'p1/1',
      },
      {
        host: 2,
        generation: 0,
        allocations: [{ containerId: allocationIdOf('b'), ip: '10.32.0.9' }],
        ring: tiles,
        self: 'p2/1',
      },
    ];
    const containers: ContainerObs[] = [
      { id: 'a', addresses: ['10.32.0.2'] },
      { id: 'b', addresses: ['10.32.0.9'] },
    ];
    return { l, routers, containers };
  }

  it('a consistent picture passes', () => {
    const { l, routers, containers } = world();
    expect(checkSafety(l.all(), routers, containers)).toStrictEqual([]);
  });

  it('an address given to two containers by two routers', () => {
    const { l, routers, containers } = world();
    l.begin('c', 2, 0, 'nc');
    l.addSucceeded('c', '10.32.0.2', {}, 2);
    routers[1]!.allocations!.push({ containerId: allocationIdOf('c'), ip: '10.32.0.2' });
    containers.push({ id: 'c', addresses: ['10.32.0.2'] });
    const v = checkSafety(l.all(), routers, containers);
    expect(v.map((x) => x.invariant)).toContain('unique-address');
    expect(v.map((x) => x.invariant)).toContain('allocation-in-own-space');
  });

  it('an interface carrying an address a router gave to someone else', () => {
    const { l, routers, containers } = world();
    containers[1] = { id: 'b', addresses: ['10.32.0.9', '10.32.0.2'] };
    expect(checkSafety(l.all(), routers, containers).map((x) => x.invariant)).toContain('unique-address');
  });

  it('an acknowledged allocation lost or moved, or gone from its container', () => {
    let { l, routers, containers } = world();
    routers[0]!.allocations = [];
    expect(checkSafety(l.all(), routers, containers)[0]).toMatchObject({ invariant: 'acknowledged-kept' });
    ({ l, routers, containers } = world());
    routers[0]!.allocations = [{ containerId: allocationIdOf('a'), ip: '10.32.0.3' }];
    expect(checkSafety(l.all(), routers, containers)[0]!.detail).toContain('acknowledged 10.32.0.2');
    ({ l, routers, containers } = world());
    containers[0] = { id: 'a', addresses: [] };
    expect(checkSafety(l.all(), routers, containers)[0]).toMatchObject({ invariant: 'acknowledged-kept' });
    containers[0] = { id: 'a', addresses: null };
    expect(checkSafety(l.all(), routers, containers)[0]!.detail).toContain('lost its namespace');
  });

  it('an allocation still held after DEL succeeded, or for a container nobody made', () => {
    const { l, routers, containers } = world();
    l.delStarted('a');
    l.delSucceeded('a');
    containers.shift();
    expect(checkSafety(l.all(), routers, containers)[0]).toMatchObject({ invariant: 'no-stray-allocation' });
    routers[0]!.allocations = [{ containerId: allocationIdOf('ghost'), ip: '10.32.0.4' }];
    expect(checkSafety(l.all(), routers, containers)[0]!.detail).toContain('unknown');
  });

  it('containers whose state changed during the observation are not judged', () => {
    const { l, routers, containers } = world();
    routers[0]!.allocations = [];
    expect(checkSafety(l.all(), routers, containers, new Set(['a']))).toStrictEqual([]);
  });

  it('ring coverage: exact tiling passes; gaps, overlaps and short ends do not', () => {
    expect(ringCoverageProblems(tiles)).toStrictEqual([]);
    const gap = ring([
      ['10.32.0.0', '10.32.0.6', 'p1/1'],
      ['10.32.0.8', '10.32.0.15', 'p2/1'],
    ]);
    expect(ringCoverageProblems(gap).join()).toMatch(/gap or overlap/);
    const overlap = ring([
      ['10.32.0.0', '10.32.0.8', 'p1/1'],
      ['10.32.0.8', '10.32.0.15', 'p2/1'],
    ]);
    expect(ringCoverageProblems(overlap).join()).toMatch(/gap or overlap/);
    const short = ring([
      ['10.32.0.0', '10.32.0.7', 'p1/1'],
      ['10.32.0.8', '10.32.0.14', 'p2/1'],
    ]);
    expect(ringCoverageProblems(short).join()).toMatch(/ends at/);
    const late = ring([['10.32.0.1', '10.32.0.15', 'p1/1']]);
    expect(ringCoverageProblems(late).join()).toMatch(/starts at/);
  });

  it('ring agreement: routers with different rings, or none, are not converged', () => {
    const { routers } = world();
    expect(ringAgreementProblems(routers)).toStrictEqual([]);
    routers[1]!.ring = ring([
      ['10.32.0.0', '10.32.0.3', 'p1/1'],
      ['10.32.0.4', '10.32.0.15', 'p2/1'],
    ]);
    expect(ringAgreementProblems(routers).join()).toMatch(/disagree/);
    routers[1]!.ring = null;
    expect(ringAgreementProblems(routers).join()).toMatch(/no ring answer/);
    routers[1]!.ring = { ...tiles, state: 'awaiting-consensus', ringId: null };
    expect(ringAgreementProblems(routers).join()).toMatch(/awaiting-consensus/);
  });
});

describe('memory verdict', () => {
  const proc = (kbAt: (t: number) => number, lifetime: number): ProcessRss => ({
    label: 'h1#1',
    pid: 1,
    startedAt: 0,
    samples: Array.from({ length: lifetime / 2_000 + 1 }, (_, k) => ({ t: k * 2_000, kb: kbAt(k * 2_000) })),
  });

  it('a flat router passes, a steadily growing one fails, a short-lived one is not judged', () => {
    expect(judgeGrowth(proc(() => 90_000, 300_000))).toMatchObject({ judged: true, ok: true });
    expect(judgeGrowth(proc((t) => 90_000 + t, 300_000))).toMatchObject({ judged: true, ok: false });
    expect(judgeGrowth(proc((t) => 90_000 + t, 60_000))).toMatchObject({ judged: false, ok: true });
    // A step of V8 heap growth within the margin is fine.
    expect(judgeGrowth(proc((t) => (t > 100_000 ? 150_000 : 90_000), 300_000)).ok).toBe(true);
  });
});
