/**
 * Issue 2's simulator results: convergence after random partitions heal,
 * broadcasts reach every peer exactly once, a partial mesh relays.
 */
import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../../common/random.js';
import { type SimPeer, Simulation } from './index.js';
import { GrowSet } from './test-channels.js';

/** n peers, each dialling `degree` random earlier peers (a connected random mesh). */
function randomMesh(
  sim: Simulation,
  n: number,
  degree: number,
  rng: SeededRandom,
  discovery = false,
): SimPeer[] {
  const peers: SimPeer[] = [];
  for (let i = 0; i < n; i++) {
    const targets = new Set<SimPeer>();
    for (let k = 0; k < Math.min(degree, i); k++) targets.add(peers[rng.int(i)]!);
    peers.push(sim.addPeer({ targets: [...targets], discovery }));
  }
  return peers;
}

function names(peers: SimPeer[]): string[] {
  return peers.map((p) => p.name).sort();
}

describe('simulated mesh', () => {
  it('50 peers with random partitions that heal converge to one agreed topology', async () => {
    const rng = new SeededRandom(42);
    const sim = new Simulation({ seed: 42, latencyMs: 2, jitterMs: 3 });
    const peers = randomMesh(sim, 50, 3, rng);
    expect(await sim.runUntilConverged({ maxMs: 60_000 })).toBe(true);

    for (let round = 0; round < 3; round++) {
      // Split into 2–4 random groups for longer than the read deadline, so connections across drop.
      const k = 2 + rng.int(3);
      const groups: SimPeer[][] = Array.from({ length: k }, () => []);
      for (const p of peers) groups[rng.int(k)]!.push(p);
      sim.partition(...groups.filter((g) => g.length > 0));
      await sim.runFor(90_000 + rng.int(60_000));
      // While split, nobody is connected across groups.
      for (const g of groups) {
        const inside = new Set(g.map((p) => p.name));
        for (const p of g) for (const c of p.router.connectedPeers()) expect(inside.has(c)).toBe(true);
      }
      sim.heal();
      expect(await sim.runUntilConverged({ maxMs: 10 * 60_000 })).toBe(true);
    }
    // Agreed means: same records everywhere, and every report lists all 50 with consistent connections.
    const report = peers[0]!.report();
    expect(report.peers.map((p) => p.name).sort()).toEqual(names(peers));
    const first = JSON.stringify(peers[0]!.report().peers.sort(byName));
    for (const p of peers) expect(JSON.stringify(p.report().peers.sort(byName))).toBe(first);
  }, 120_000);

  it('30 peers under random connection resets converge once the resets stop', async () => {
    const rng = new SeededRandom(9);
    const sim = new Simulation({ seed: 9, latencyMs: 2, jitterMs: 2 });
    const peers = randomMesh(sim, 30, 3, rng);
    sim.lossy(300, 60_000);
    await sim.runFor(60_000);
    expect(await sim.runUntilConverged({ maxMs: 10 * 60_000 })).toBe(true);
    expect(peers[0]!.report().peers).toHaveLength(30);
    // Resets really happened and were survived.
    expect(peers.reduce((s, p) => s + p.report().terminations, 0)).toBeGreaterThan(100);
  });

  it('a broadcast reaches every peer exactly once', async () => {
    const rng = new SeededRandom(7);
    const sim = new Simulation({ seed: 7, latencyMs: 1, jitterMs: 2 });
    const sets = new Map<SimPeer, GrowSet>();
    const peers: SimPeer[] = [];
    for (let i = 0; i < 40; i++) {
      const targets = new Set<SimPeer>();
      for (let k = 0; k < Math.min(3, i); k++) targets.add(peers[rng.int(i)]!);
      peers.push(
        sim.addPeer({
          targets: [...targets],
          discovery: false,
          setup: ({ router, peer }) => sets.set(peer, GrowSet.attach(router)),
        }),
      );
    }
    expect(await sim.runUntilConverged({ maxMs: 60_000 })).toBe(true);
    await sim.runUntilQuiescent();
    const duplicatesBefore = peers.map((p) => p.router.gossipStats.broadcastDuplicates);
    // Every peer broadcasts one item.
    for (const p of peers) sets.get(p)!.add(`from-${p.nickname}`);
    expect(await sim.runUntilQuiescent()).toBe(true);
    for (const p of peers) {
      const got = sets.get(p)!.broadcasts;
      for (const src of peers) {
        const key = `${src.name}:${JSON.stringify([`from-${src.nickname}`])}`;
        expect(got.get(key) ?? 0, `${p.nickname} got ${src.nickname}'s broadcast`).toBe(src === p ? 0 : 1);
      }
      expect(sets.get(p)!.items.size).toBe(peers.length);
    }
    // The trees did the work: no duplicate ever reached the suppression window.
    expect(peers.map((p) => p.router.gossipStats.broadcastDuplicates)).toEqual(duplicatesBefore);
  });

  it('a partial mesh (A–B, B–C, no A–C) relays unicast and broadcast', async () => {
    const sim = new Simulation({ seed: 3 });
    const sets = new Map<string, GrowSet>();
    const setup = ({
      router,
      peer,
    }: {
      router: import('../../router/mesh/router.js').MeshRouter;
      peer: SimPeer;
    }) => sets.set(peer.nickname, GrowSet.attach(router));
    const a = sim.addPeer({ discovery: false, setup });
    const b = sim.addPeer({ targets: [a], discovery: false, setup });
    const c = sim.addPeer({ targets: [b], discovery: false, setup });
    expect(await sim.runUntilConverged({ maxMs: 30_000 })).toBe(true);
    expect(a.router.connectedPeers()).toEqual([b.name]);
    expect(c.router.connectedPeers()).toEqual([b.name]);
    // Routes: A reaches C through B.
    expect(a.report().unicastRoutes[c.name]).toBe(b.name);

    sets.get('host1')!.sender.unicast(c.name, new TextEncoder().encode('hello C'));
    sets.get('host3')!.sender.unicast(a.name, new TextEncoder().encode('hello A'));
    sets.get('host1')!.add('x');
    await sim.runUntilQuiescent();
    expect(sets.get('host3')!.unicasts).toEqual([`${a.name}:hello C`]);
    expect(sets.get('host1')!.unicasts).toEqual([`${c.name}:hello A`]);
    expect(sets.get('host2')!.unicasts).toEqual([]);
    expect(sets.get('host3')!.broadcasts.get(`${a.name}:["x"]`)).toBe(1);
    expect(sets.get('host2')!.broadcasts.get(`${a.name}:["x"]`)).toBe(1);
  });
});

function byName(a: { name: string }, b: { name: string }): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}
