/**
 * Topology convergence in the simulator: for meshes of 100, 300 and 1000
 * routers (real MeshRouter cores, virtual time), how long after one more
 * router joins until every router agrees on the topology again, and how many
 * gossip bytes that cost per router.
 *
 *   npm run bench:convergence [-- sizes… --degree 3 --latency 1 --seed 1]
 *
 * Mesh: each router dials `degree` random earlier ones (no discovery, so the
 * mesh stays sparse like a large real deployment would be with a conn limit);
 * one-way latency `latency` ms. "Bytes" are everything written on mesh
 * streams (frames, intros, heartbeats) between the join and convergence.
 * Steady state: the bytes per router per gossip interval with nothing
 * happening (heartbeats plus the periodic full-state rounds).
 */
import { SeededRandom } from '../common/random.js';
import { type SimPeer, Simulation } from '../test/sim/index.js';

interface Row {
  peers: number;
  buildWallS: number;
  buildSimS: number;
  joinSimMs: number;
  joinBytesPerPeer: number;
  joinerBytes: number;
  maxPeerBytes: number;
  steadyBytesPerPeerPerRound: number;
  joinWallS: number;
}

function args(): { sizes: number[]; degree: number; latency: number; seed: number } {
  const a = process.argv.slice(2);
  const flag = (n: string, d: number) => {
    const i = a.indexOf(n);
    if (i < 0) return d;
    const v = Number(a[i + 1]);
    a.splice(i, 2);
    return v;
  };
  const degree = flag('--degree', 3);
  const latency = flag('--latency', 1);
  const seed = flag('--seed', 1);
  const sizes = a.length > 0 ? a.map(Number) : [100, 300, 1000];
  return { sizes, degree, latency, seed };
}

async function measure(n: number, degree: number, latency: number, seed: number): Promise<Row> {
  const gossipIntervalMs = 30_000;
  const sim = new Simulation({ seed, latencyMs: latency, jitterMs: latency });
  const rng = new SeededRandom(seed);
  const peers: SimPeer[] = [];
  const pickTargets = (count: number) => {
    const t = new Set<SimPeer>();
    while (t.size < Math.min(count, peers.length)) t.add(peers[rng.int(peers.length)]!);
    return [...t];
  };
  let t0 = performance.now();
  for (let i = 0; i < n; i++) peers.push(sim.addPeer({ targets: pickTargets(degree), discovery: false }));
  const built = await sim.runUntilConverged({ maxMs: 30 * 60_000 });
  if (!built) throw new Error(`${n} peers did not converge while building`);
  await sim.runUntilQuiescent();
  const buildWallS = (performance.now() - t0) / 1000;
  const buildSimS = sim.now / 1000;

  // Steady state: one full gossip interval with nothing happening.
  const before = peers.map((p) => sim.bytesSent(p));
  await sim.runFor(gossipIntervalMs);
  const steady = peers.reduce((s, p, i) => s + sim.bytesSent(p) - before[i]!, 0) / n;
  await sim.runUntilQuiescent();

  // The join.
  const start = peers.map((p) => sim.bytesSent(p));
  const joinAt = sim.now;
  t0 = performance.now();
  const joiner = sim.addPeer({ targets: pickTargets(degree), discovery: false });
  const joined = await sim.runUntil(() => sim.agreed(), { maxMs: 10 * 60_000, checkEveryMs: 1 });
  if (!joined) throw new Error(`${n} peers did not converge after a join`);
  const joinSimMs = sim.now - joinAt;
  const joinWallS = (performance.now() - t0) / 1000;
  const deltas = peers.map((p, i) => sim.bytesSent(p) - start[i]!);
  const joinerBytes = sim.bytesSent(joiner);
  return {
    peers: n,
    buildWallS,
    buildSimS,
    joinSimMs,
    joinBytesPerPeer: (deltas.reduce((s, d) => s + d, 0) + joinerBytes) / (n + 1),
    joinerBytes,
    maxPeerBytes: Math.max(...deltas),
    steadyBytesPerPeerPerRound: steady,
    joinWallS,
  };
}

function table(rows: Row[]): string {
  const head = [
    'peers',
    'join→agreed (sim ms)',
    'bytes/peer (join)',
    'max bytes one peer',
    'joiner bytes',
    'steady bytes/peer/30s',
    'build (sim s)',
    'build (wall s)',
  ];
  const lines = rows.map((r) => [
    String(r.peers),
    r.joinSimMs.toFixed(0),
    r.joinBytesPerPeer.toFixed(0),
    String(r.maxPeerBytes),
    String(r.joinerBytes),
    r.steadyBytesPerPeerPerRound.toFixed(0),
    r.buildSimS.toFixed(1),
    r.buildWallS.toFixed(1),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const fmt = (cells: string[]) => `| ${cells.map((c, i) => c.padStart(widths[i]!)).join(' | ')} |`;
  return [fmt(head), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...lines.map(fmt)].join('\n');
}

async function main(): Promise<void> {
  const { sizes, degree, latency, seed } = args();
  console.log(
    `topology convergence after one join (degree ${degree}, one-way latency ${latency} ms, seed ${seed})`,
  );
  const rows: Row[] = [];
  for (const n of sizes) {
    rows.push(await measure(n, degree, latency, seed));
    console.error(`  measured ${n} peers`);
  }
  console.log(table(rows));
  if (rows.length >= 2) {
    const a = rows[0]!;
    const b = rows[rows.length - 1]!;
    const growth = b.joinBytesPerPeer / a.joinBytesPerPeer;
    console.log(
      `bytes/peer for a join grew ${growth.toFixed(2)}× while peers grew ${(b.peers / a.peers).toFixed(0)}× ` +
        `(${growth < b.peers / a.peers ? 'sub-linear' : 'NOT sub-linear'})`,
    );
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
