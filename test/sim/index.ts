/**
 * The weft mesh simulator: many real MeshRouter cores on one virtual clock.
 *
 * Deterministic: one seed drives every random choice (peer UIDs, jitter,
 * back-off, gossip subsets), events at equal times run in scheduling order,
 * and nothing reads the real clock, so a failing run replays exactly.
 *
 * API (all times in virtual milliseconds):
 *
 *   const sim = new Simulation({ seed: 7, latencyMs: 1, tuning: { gossipIntervalMs: 5000 } });
 *   const a = sim.addPeer();                          // host 198.18.0.1, name 02:00:00:00:00:01
 *   const b = sim.addPeer({ targets: [a] });          // dials a
 *   const c = sim.addPeer({ targets: [b], setup: ({ router, storage }) => {
 *     // runs on every (re)start, before the router starts: register channels here
 *     const sender = router.registerChannel('ipam', myGossiper(storage));
 *   } });
 *   await sim.runUntilConverged({ maxMs: 30_000 });   // every running peer agrees on the topology
 *   sim.partition([a], [b, c]);  …  sim.heal();        // traffic across stalls, then resumes
 *   sim.resetConnections(a, b);                        // TCP resets between two hosts
 *   sim.lossy(200, 60_000);                            // a random connection reset every ~200 ms for 60 s
 *   sim.crash(b); sim.start(b);  // or sim.restart(b)  // new UID; persisted targets and `storage` survive
 *   sim.crash(b, { silent: true });                    // vanishes: peers notice only by timeouts
 *   await sim.runFor(1000); await sim.runUntil(() => cond, { maxMs });
 *   await sim.runUntilQuiescent();                     // nothing in flight, no batched work queued
 *   a.report(); a.router.peers(); a.router.topologyDigest(); sim.bytesSent(a);
 *   sim.agreed([a, c])                                 // do these peers agree (and know exactly each other)?
 *
 * Transport: `sim.network.transport(ip)` is a `StreamTransport` (it passes
 * test/compliance/stream.ts), usable on its own for transport-level tests.
 */
export { EventQueue } from './event-queue.js';
export { SimEndpoint, SimNetwork } from './network.js';
export {
  SimPeer,
  type SimPeerContext,
  type SimPeerOptions,
  Simulation,
  type SimulationOptions,
} from './simulation.js';
