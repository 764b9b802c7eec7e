/**
 * MeshRouter behaviour in the simulator: refusals (password, name collision,
 * self, limit), duplicates, crash/restart, discovery, forget, persistence,
 * back-off, the overlay seam, and gossip channels across partitions.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { RecordingLogger } from '../../common/logger.js';
import { derivePsk } from '../../crypto/psk.js';
import type {
  MeshRoutes,
  Overlay,
  OverlayConnection,
  OverlayConnectionEvents,
  OverlayConnectionParams,
} from '../../router/mesh/overlay-api.js';
import type { MeshRouter } from '../../router/mesh/router.js';
import { type SimPeer, Simulation } from './index.js';
import { GrowSet } from './test-channels.js';

let psk: Uint8Array;
let otherPsk: Uint8Array;
beforeAll(() => {
  psk = derivePsk('swordfish');
  otherPsk = derivePsk('not swordfish');
});

function peerNames(p: SimPeer): string[] {
  return p.router
    .peers()
    .map((r) => r.name)
    .sort();
}

function target(p: SimPeer, address: string) {
  return p.report().targets.find((t) => t.address === address);
}

describe('mesh router in the simulator', () => {
  it('three encrypted peers connect; a fourth with another password is refused by both sides and never listed', async () => {
    const log = new RecordingLogger();
    const sim = new Simulation({ seed: 11, logger: log });
    const a = sim.addPeer({ psk });
    const b = sim.addPeer({ psk, targets: [a] });
    const c = sim.addPeer({ psk, targets: [a, b] });
    const d = sim.addPeer({ psk: otherPsk, targets: [a, b, c] });
    expect(await sim.runUntilConverged({ group: [a, b, c], maxMs: 30_000 })).toBe(true);
    await sim.runFor(120_000);
    for (const p of [a, b, c]) {
      expect(peerNames(p)).toEqual([a.name, b.name, c.name].sort());
      const r = p.report();
      expect(r.encryption).toBe(true);
      const established = r.connections.filter((x) => x.state === 'established');
      expect(established).toHaveLength(2);
      expect(established.every((x) => x.encrypted)).toBe(true);
      expect(r.peers.every((peer) => peer.connections.every((cn) => cn.established))).toBe(true);
    }
    expect(peerNames(d)).toEqual([d.name]);
    // d keeps retrying with back-off, and both ends log the mismatch.
    const t = target(d, a.address)!;
    expect(t.state).toBe('waiting');
    expect(t.failures).toBeGreaterThanOrEqual(3);
    expect(t.lastError).toMatch(/password/);
    const mismatch = log.records.filter((r) => r.level === 'error' && /different password/.test(r.msg ?? ''));
    expect(mismatch.some((r) => r.fields.host === 'host4')).toBe(true);
    expect(mismatch.some((r) => r.fields.host === 'host1')).toBe(true);
  });

  it('refuses a peer without a password, and the reason reaches both logs', async () => {
    const log = new RecordingLogger();
    const sim = new Simulation({ seed: 12, logger: log });
    const a = sim.addPeer({ psk });
    const b = sim.addPeer({ targets: [a] });
    await sim.runFor(5_000);
    expect(peerNames(a)).toEqual([a.name]);
    expect(target(b, a.address)!.lastError).toMatch(/encryption-(required|unsupported)/);
    const errors = log.records.filter((r) => r.level === 'error' && /refused/.test(r.msg ?? ''));
    expect(new Set(errors.map((r) => r.fields.host))).toEqual(new Set(['host1', 'host2']));
  });

  it('a name collision (same name, other UID) is reported on both sides and never retried', async () => {
    const log = new RecordingLogger();
    const sim = new Simulation({ seed: 13, logger: log });
    const a = sim.addPeer();
    const clone = sim.addPeer({ name: a.name, targets: [a] });
    await sim.runFor(600_000);
    const t = target(clone, a.address)!;
    expect(t.state).toBe('failed');
    expect(t.failures).toBe(0);
    expect(t.lastError).toMatch(/name-collision/);
    expect(a.router.connectedPeers()).toEqual([]);
    expect(
      log.records.filter(
        (r) => r.level === 'error' && /collision/.test(`${r.msg} ${JSON.stringify(r.fields)}`),
      ).length,
    ).toBeGreaterThanOrEqual(2);
    // Exactly one attempt was made.
    expect(
      log.records.filter((r) => r.fields.host === clone.nickname && r.msg === 'mesh: dialling'),
    ).toHaveLength(1);
  });

  it('a target that is our own address fails for good', async () => {
    const sim = new Simulation({ seed: 14 });
    const a = sim.addPeer();
    a.router.connect([a.address]);
    await sim.runFor(60_000);
    expect(target(a, a.address)).toMatchObject({ state: 'failed', lastError: expect.stringMatching(/self/) });
  });

  it('two peers dialling each other keep exactly one connection, and both agree which', async () => {
    for (let seed = 1; seed <= 5; seed++) {
      const sim = new Simulation({ seed, jitterMs: 3 });
      const a = sim.addPeer({ start: false });
      const b = sim.addPeer({ start: false, targets: [a] });
      a.persistedTargets = [b.address];
      sim.start(a);
      sim.start(b);
      await sim.runFor(30_000);
      const ra = a.report();
      const rb = b.report();
      expect(ra.connections.filter((c) => c.state === 'established')).toHaveLength(1);
      expect(rb.connections.filter((c) => c.state === 'established')).toHaveLength(1);
      // Both kept the same connection: one side's outbound is the other's inbound.
      expect(ra.connections[0]!.outbound).toBe(!rb.connections[0]!.outbound);
      for (const [p, other] of [
        [a, b],
        [b, a],
      ] as const) {
        expect(['connected', 'satisfied']).toContain(target(p, other.address)!.state);
      }
      // And it stays that way (no flapping).
      const terms = [ra.terminations, rb.terminations];
      await sim.runFor(300_000);
      expect([a.report().terminations, b.report().terminations]).toEqual(terms);
    }
  });

  it('a killed router that starts again reconnects, with a new UID that wins everywhere', async () => {
    const sim = new Simulation({ seed: 15 });
    const a = sim.addPeer();
    const b = sim.addPeer({ targets: [a] });
    const c = sim.addPeer({ targets: [a, b] });
    expect(await sim.runUntilConverged({ maxMs: 30_000 })).toBe(true);
    const oldUid = b.router.uid;
    sim.crash(b);
    expect(await sim.runUntilConverged({ group: [a, c], maxMs: 30_000 })).toBe(true);
    expect(peerNames(a)).toEqual([a.name, c.name].sort());
    sim.start(b);
    expect(await sim.runUntilConverged({ maxMs: 60_000 })).toBe(true);
    expect(b.router.uid).not.toBe(oldUid);
    for (const p of [a, c]) {
      expect(p.report().peers.find((x) => x.name === b.name)!.uid).toBe(b.router.uid.toString());
    }
  });

  it('a router restarted while its old connection still looks alive gets in once that times out, without a dial storm', async () => {
    const log = new RecordingLogger();
    const sim = new Simulation({ seed: 24, logger: log });
    const a = sim.addPeer({ discovery: false });
    const b = sim.addPeer({ targets: [a], discovery: false });
    expect(await sim.runUntilConverged({ maxMs: 30_000 })).toBe(true);
    sim.crash(b, { silent: true }); // a sees nothing: its connection to the old b stays up until the deadline
    sim.start(b);
    await sim.runFor(20_000);
    expect(target(b, a.address)!.lastError).toMatch(/incarnation/);
    expect(await sim.runUntilConverged({ maxMs: 120_000 })).toBe(true);
    expect(a.report().peers.find((p) => p.name === b.name)!.uid).toBe(b.router.uid.toString());
    const dials = log.records.filter((r) => r.fields.host === b.nickname && r.msg === 'mesh: dialling');
    expect(dials.length).toBeLessThan(20);
  });

  it('a router that vanishes silently is dropped after the read deadline', async () => {
    const sim = new Simulation({ seed: 16 });
    const a = sim.addPeer({ discovery: false });
    const b = sim.addPeer({ targets: [a], discovery: false });
    const c = sim.addPeer({ targets: [b], discovery: false });
    expect(await sim.runUntilConverged({ maxMs: 30_000 })).toBe(true);
    sim.crash(b, { silent: true });
    await sim.runFor(50_000);
    expect(peerNames(a)).toContain(b.name);
    await sim.runFor(40_000);
    expect(peerNames(a)).toEqual([a.name]);
    expect(peerNames(c)).toEqual([c.name]);
  });

  it('discovers peers through gossip and connects to them, unless discovery is off', async () => {
    for (const discovery of [true, false]) {
      const sim = new Simulation({ seed: 17 });
      const hub = sim.addPeer({ discovery });
      const spokes = [1, 2, 3].map(() => sim.addPeer({ targets: [hub], discovery }));
      await sim.runFor(60_000);
      for (const s of spokes) {
        expect(s.router.connectedPeers().length).toBe(discovery ? 3 : 1);
        expect(peerNames(s)).toHaveLength(4);
      }
    }
  });

  it('a forgotten target is not dialled again (the connection stays until it breaks)', async () => {
    const sim = new Simulation({ seed: 18 });
    const a = sim.addPeer({ discovery: false });
    const b = sim.addPeer({ targets: [a], discovery: false });
    expect(await sim.runUntilConverged({ maxMs: 30_000 })).toBe(true);
    b.router.forget([a.address]);
    expect(b.persistedTargets).toEqual([]);
    expect(b.router.connectedPeers()).toEqual([a.name]);
    sim.resetConnections(a, b);
    await sim.runFor(600_000);
    expect(b.router.connectedPeers()).toEqual([]);
    expect(target(b, a.address)).toBeUndefined();
  });

  it('targets given through connect are persisted and used again after a restart', async () => {
    const sim = new Simulation({ seed: 19 });
    const a = sim.addPeer();
    const b = sim.addPeer();
    b.router.connect([a.address]);
    expect(b.persistedTargets).toEqual([a.address]);
    expect(await sim.runUntilConverged({ maxMs: 30_000 })).toBe(true);
    sim.crash(b);
    sim.crash(a);
    sim.start(a);
    sim.start(b);
    expect(await sim.runUntilConverged({ maxMs: 60_000 })).toBe(true);
    expect(b.router.directTargets()).toEqual([a.address]);
  });

  it('retries an unreachable target with exponential back-off and jitter', async () => {
    const log = new RecordingLogger();
    const sim = new Simulation({ seed: 20, logger: log });
    const a = sim.addPeer({ targets: ['198.18.200.1:6783'] });
    await sim.runFor(30 * 60_000);
    const attempts = log.records
      .filter((r) => r.msg === 'mesh: dialling')
      .map((r) => Number(r.fields.attempt));
    expect(attempts.slice(0, 5)).toEqual([1, 2, 3, 4, 5]);
    // Nominal waits 2, 3, 4.5, … s (±50 %), capped at 6 min: 30 min hold roughly 12–20 attempts,
    // far fewer than a fixed 2 s retry (900) and more than a 6 min one (5).
    const t = target(a, '198.18.200.1:6783')!;
    expect(t.failures).toBe(attempts.length);
    expect(t.failures).toBeGreaterThan(8);
    expect(t.failures).toBeLessThan(25);
    expect(t.retryInMs).toBeLessThanOrEqual(6 * 60_000 * 1.5);
  });

  it('refuses connections over the limit; the refused peer keeps retrying', async () => {
    const sim = new Simulation({ seed: 21 });
    const a = sim.addPeer({ connLimit: 1, discovery: false });
    const b = sim.addPeer({ targets: [a], discovery: false });
    const c = sim.addPeer({ targets: [a], discovery: false });
    await sim.runFor(60_000);
    expect(a.router.connectedPeers()).toHaveLength(1);
    const loser = a.router.connectedPeers()[0] === b.name ? c : b;
    expect(target(loser, a.address)!.lastError).toMatch(/conn-limit/);
    expect(target(loser, a.address)!.state).toBe('waiting');
  });

  it('reconnects after a partition longer than the read deadline', async () => {
    const sim = new Simulation({ seed: 22 });
    const a = sim.addPeer();
    const b = sim.addPeer({ targets: [a] });
    expect(await sim.runUntilConverged({ maxMs: 30_000 })).toBe(true);
    sim.partition([a], [b]);
    await sim.runFor(120_000);
    expect(a.router.connectedPeers()).toEqual([]);
    expect(peerNames(a)).toEqual([a.name]);
    sim.heal();
    expect(await sim.runUntilConverged({ maxMs: 10 * 60_000 })).toBe(true);
    expect(a.router.connectedPeers()).toEqual([b.name]);
  });

  it('channel gossip (full state to new connections, periodic rounds) merges both sides of a healed partition', async () => {
    const sim = new Simulation({ seed: 23, tuning: { gossipIntervalMs: 5_000 } });
    const sets = new Map<SimPeer, GrowSet>();
    const setup = ({ router, peer }: { router: MeshRouter; peer: SimPeer }) =>
      sets.set(peer, GrowSet.attach(router));
    const peers: SimPeer[] = [];
    for (let i = 0; i < 8; i++) peers.push(sim.addPeer({ setup, targets: peers.slice(Math.max(0, i - 2)) }));
    expect(await sim.runUntilConverged({ maxMs: 30_000 })).toBe(true);
    const left = peers.slice(0, 4);
    const right = peers.slice(4);
    sim.partition(left, right);
    await sim.runFor(100_000);
    for (const p of peers) sets.get(p)!.add(`item-${p.nickname}`);
    await sim.runFor(10_000);
    expect(sets.get(left[0]!)!.items.size).toBe(4);
    sim.heal();
    expect(
      await sim.runUntil(() => peers.every((p) => sets.get(p)!.items.size === 8), { maxMs: 10 * 60_000 }),
    ).toBe(true);
  });
});

/** An overlay whose connections become established only when the test says so. */
class ManualOverlay implements Overlay {
  readonly conns = new Map<
    string,
    { params: OverlayConnectionParams; events: OverlayConnectionEvents; got: Uint8Array[] }
  >();
  routes: MeshRoutes | null = null;
  removed: string[] = [];
  prepareConnection(params: OverlayConnectionParams, events: OverlayConnectionEvents): OverlayConnection {
    const entry = { params, events, got: [] as Uint8Array[] };
    this.conns.set(params.remote, entry);
    return {
      onControl: (m) => entry.got.push(m),
      info: () => ({ path: 'sleeve', encrypted: params.session !== null, healthy: true }),
      close: () => this.conns.delete(params.remote),
    };
  }
  routesChanged(routes: MeshRoutes): void {
    this.routes = routes;
  }
  peersRemoved(names: string[]): void {
    this.removed.push(...names);
  }
}

describe('the overlay seam', () => {
  it('connections are established only when the overlay says so; data routes use established ones only', async () => {
    const overlays = new Map<string, ManualOverlay>();
    const make = (nick: string) => () => {
      const o = new ManualOverlay();
      overlays.set(nick, o);
      return o;
    };
    const sim = new Simulation({ seed: 30 });
    const a = sim.addPeer({ overlay: make('host1'), psk, discovery: false });
    const b = sim.addPeer({ overlay: make('host2'), targets: [a], psk, discovery: false });
    const c = sim.addPeer({ overlay: make('host3'), targets: [b], psk, discovery: false });
    expect(await sim.runUntilConverged({ maxMs: 30_000 })).toBe(true);
    const oa = overlays.get('host1')!;
    const ob = overlays.get('host2')!;
    // Prepared with what the data plane needs.
    const pa = oa.conns.get(b.name)!.params;
    expect(pa).toMatchObject({ local: a.name, remote: b.name, remoteIp: b.ip, remoteMeshPort: 6783 });
    expect(pa.session).not.toBeNull();
    expect(a.report().connections[0]!.state).toBe('prepared');
    expect(a.router.routes().unicastNextHop(b.name)).toBeUndefined();

    // Control messages cross the mesh connection both ways.
    pa.sendControl(Uint8Array.of(1, 2, 3));
    ob.conns.get(a.name)!.params.sendControl(Uint8Array.of(9));
    await sim.runFor(100);
    expect(ob.conns.get(a.name)!.got.map((m) => [...m])).toEqual([[1, 2, 3]]);
    expect(oa.conns.get(b.name)!.got.map((m) => [...m])).toEqual([[9]]);

    // Established on one side only: still not a data route (needs both).
    oa.conns.get(b.name)!.events.established();
    await sim.runFor(1_000);
    expect(a.router.routes().unicastNextHop(b.name)).toBeUndefined();
    ob.conns.get(a.name)!.events.established();
    for (const [nick, other] of [
      ['host2', c],
      ['host3', b],
    ] as const) {
      overlays.get(nick)!.conns.get(other.name)!.events.established();
    }
    await sim.runFor(1_000);
    expect(a.router.routes().unicastNextHop(c.name)).toBe(b.name);
    expect(oa.routes!.unicastNextHop(c.name)).toBe(b.name);
    expect(ob.routes!.broadcastNextHops(a.name)).toEqual([c.name]);
    expect(a.report().connections[0]).toMatchObject({
      state: 'established',
      overlay: { path: 'sleeve', encrypted: true },
    });

    // The data path failing closes the connection, and the mesh redials.
    oa.conns.get(b.name)!.events.failed('heartbeats lost');
    await sim.runFor(100);
    expect(a.report().terminations).toBe(1);
    await sim.runFor(30_000);
    expect(a.router.connectedPeers()).toEqual([b.name]);

    // A peer that goes away is reported to the overlay once garbage-collected.
    sim.crash(c);
    await sim.runFor(5_000);
    expect(oa.removed).toContain(c.name);
  });
});

describe('faults in other components', () => {
  it('an overlay that throws costs the connection, not the router', async () => {
    const log = new RecordingLogger();
    const sim = new Simulation({ seed: 31, logger: log });
    let calls = 0;
    const flaky = (): Overlay => ({
      prepareConnection: (_p, events) => {
        calls++;
        if (calls <= 2) throw new Error('data plane exploded');
        events.established();
        return {
          onControl: () => {},
          info: () => ({ path: 'none', encrypted: false, healthy: true }),
          close: () => {},
        };
      },
      routesChanged: () => {
        throw new Error('routes exploded too');
      },
      peersRemoved: () => {},
    });
    const a = sim.addPeer({ overlay: flaky });
    const b = sim.addPeer({ targets: [a] });
    expect(await sim.runUntilConverged({ maxMs: 60_000 })).toBe(true);
    expect(a.router.connectedPeers()).toEqual([b.name]);
    expect(log.records.some((r) => r.level === 'error' && /prepareConnection threw/.test(r.msg ?? ''))).toBe(
      true,
    );
    expect(log.records.some((r) => r.level === 'error' && /routesChanged threw/.test(r.msg ?? ''))).toBe(
      true,
    );
  });
});
