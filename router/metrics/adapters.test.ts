import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { IpamStatus } from '../../ipam/types.js';
import { dataplaneMetricsSource, readLinkCounters, sleeveDropSamples } from '../dataplane/metrics-source.js';
import type { SleevePeerStats, SleeveStats } from '../dataplane/sleeve-native.js';
import type { MeshConnectionReport, MeshReport } from '../mesh/report.js';
import { ipamMetricsSample } from './from-ipam-status.js';
import { connectionMetricState, connectionSamples, meshMetricsSource } from './from-mesh-report.js';

// The adapters that turn what the cores report into metric samples.

function meshReport(
  connections: Partial<MeshConnectionReport>[],
  extra: Partial<MeshReport> = {},
): MeshReport {
  return {
    name: '02:00:00:00:00:01',
    nickname: 'h1',
    uid: '1',
    version: 1,
    shortId: null,
    protocol: { name: 'weft', minVersion: 1, maxVersion: 1 },
    encryption: true,
    peerDiscovery: true,
    port: 6783,
    connLimit: 200,
    peers: [],
    connections: connections.map((c, i) => ({
      id: i,
      address: `198.18.0.${i + 2}:6783`,
      outbound: true,
      state: 'established',
      info: '',
      encrypted: true,
      ...c,
    })),
    targets: [],
    terminations: 0,
    unicastRoutes: {},
    topologyDigest: '',
    ...extra,
  };
}

describe('mesh report → metrics', () => {
  it('maps connection states as Weave shows them', () => {
    expect(connectionMetricState('dialing')).toBe('connecting');
    for (const s of ['intro', 'handshake', 'hello', 'prepared'])
      expect(connectionMetricState(s)).toBe('pending');
    expect(connectionMetricState('established')).toBe('established');
  });

  it('labels each connection with its overlay path and whether its data is encrypted', () => {
    const samples = connectionSamples(
      meshReport([
        { overlay: { path: 'fastdp', encrypted: false, healthy: true } },
        { overlay: { path: 'sleeve', encrypted: true, healthy: true } },
        { state: 'handshake' },
        { state: 'prepared', encrypted: false },
      ]),
    );
    expect(samples).toEqual([
      { state: 'established', type: 'fastdp', encrypted: false },
      { state: 'established', type: 'sleeve', encrypted: true },
      { state: 'pending', type: 'none', encrypted: true },
      { state: 'pending', type: 'none', encrypted: false },
    ]);
  });

  it('counts targets without a connection as retrying or failed, and no others', () => {
    const target = (state: string) => ({ address: 'x:1', direct: true, state, failures: 1, lastError: null });
    const samples = connectionSamples(
      meshReport([], {
        targets: ['waiting', 'failed', 'connecting', 'connected', 'satisfied'].map(target),
      }),
    );
    expect(samples.map((s) => s.state)).toEqual(['retrying', 'failed']);
  });

  it('reads terminations and peers from the report, once per scrape', async () => {
    let calls = 0;
    const source = meshMetricsSource({
      report: () => {
        calls++;
        return meshReport([{}], { terminations: 4, peers: [{} as never, {} as never] });
      },
    });
    expect([source.connections().length, source.terminations(), source.peers()]).toEqual([1, 4, 2]);
    expect(calls).toBe(1);
    await Promise.resolve();
    source.peers();
    expect(calls).toBe(2);
  });
});

describe('IPAM status → metrics', () => {
  const owner = (addresses: number) => ({
    owner: 'p/00000001',
    addresses,
    free: 0,
    reachable: false,
    dead: false,
  });
  const status: Pick<
    IpamStatus,
    'state' | 'range' | 'owned' | 'free' | 'unreachable' | 'pending' | 'conflicts'
  > = {
    state: 'ready',
    range: '10.32.0.0/12',
    owned: 4096,
    free: 4090,
    unreachable: [owner(1000), owner(24)],
    pending: { allocate: 1, claim: 2 },
    conflicts: [{ peer: 'p', kind: 'k', reason: 'r', count: 3, firstAt: 0, lastAt: 0 }],
  };

  it('derives used/free, range size, unreachable space and pending operations', () => {
    expect(ipamMetricsSample(status)).toEqual({
      state: 'ready',
      rangeSize: 1 << 20,
      localUsed: 6,
      localFree: 4090,
      unreachableOwners: 2,
      unreachableAddresses: 1024,
      pendingAllocates: 1,
      pendingClaims: 2,
      ringConflicts: 3,
    });
  });

  it('prefers the running total of conflicts when the status has it', () => {
    expect(ipamMetricsSample({ ...status, conflictsTotal: 40 }).ringConflicts).toBe(40);
  });
});

describe('data plane → metrics', () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });

  function fakeSys(ifname: string, values: Record<string, number>): string {
    dir = mkdtempSync(join(tmpdir(), 'weft-sysnet-'));
    const stats = join(dir, ifname, 'statistics');
    mkdirSync(stats, { recursive: true });
    for (const [k, v] of Object.entries(values)) writeFileSync(join(stats, k), `${v}\n`);
    return dir;
  }

  const counters = {
    rx_bytes: 100,
    rx_packets: 2,
    rx_dropped: 1,
    tx_bytes: 300,
    tx_packets: 4,
    tx_dropped: 0,
  };

  it('reads a device’s counters from sysfs, and nothing for a missing device or a bad name', () => {
    const sys = fakeSys('vxlan-6784', counters);
    expect(readLinkCounters('vxlan-6784', sys)).toEqual({
      rxBytes: 100,
      rxPackets: 2,
      rxDropped: 1,
      txBytes: 300,
      txPackets: 4,
      txDropped: 0,
    });
    expect(readLinkCounters('nope', sys)).toBeUndefined();
    expect(readLinkCounters('../../etc', sys)).toBeUndefined();
  });

  it('reads the loopback device of this namespace from the real sysfs', () => {
    const lo = readLinkCounters('lo');
    expect(lo).toBeDefined();
    expect(lo!.rxBytes).toBeGreaterThanOrEqual(0);
  });

  function peerStats(name: string, over: Partial<SleevePeerStats> = {}): SleevePeerStats {
    return {
      name,
      direct: true,
      encrypted: true,
      txPackets: 1,
      txBytes: 10,
      rxPackets: 2,
      rxBytes: 20,
      rxFrames: 2,
      relayed: 0,
      heartbeatsRx: 0,
      txOversize: 0,
      txErrors: 0,
      txFragments: 0,
      rxFragments: 0,
      reassembled: 0,
      reassemblyDropped: 0,
      maxDatagram: 1472,
      drops: {},
      ...over,
    };
  }

  function sleeveStats(peers: SleevePeerStats[]): SleeveStats {
    return {
      global: { noRoute: 5, ttlExpired: 0, drops: { 'bad-header': 1 } } as unknown as SleeveStats['global'],
      peers,
    };
  }

  it('combines the fastdp device and the sleeve peers, one counting key each', () => {
    const sys = fakeSys('vx', counters);
    const source = dataplaneMetricsSource({
      fastdpDevice: 'vx',
      sysClassNet: sys,
      sleeve: () => sleeveStats([peerStats('a'), peerStats('b', { encrypted: false, txPackets: 7 })]),
    });
    const traffic = source.traffic();
    expect(traffic.map((t) => [t.key, t.path, t.encrypted, t.txPackets])).toEqual([
      ['fastdp:vx', 'fastdp', false, 4],
      ['sleeve:a', 'sleeve', true, 1],
      ['sleeve:b', 'sleeve', false, 7],
    ]);
    const drops = source.drops!();
    expect(drops).toContainEqual({ key: 'fastdp:vx', path: 'fastdp', reason: 'rx-dropped', packets: 1 });
    expect(drops).toContainEqual({ key: 'sleeve', path: 'sleeve', reason: 'no-route', packets: 5 });
    expect(drops).toContainEqual({ key: 'sleeve', path: 'sleeve', reason: 'bad-header', packets: 1 });
  });

  it('reports per-peer drop reasons of the sleeve', () => {
    const drops = sleeveDropSamples(sleeveStats([peerStats('a', { drops: { replayed: 3 } })]));
    expect(drops).toContainEqual({ key: 'sleeve:a', path: 'sleeve', reason: 'replayed', packets: 3 });
  });

  it('exports nothing when neither path runs', () => {
    const source = dataplaneMetricsSource({ sleeve: () => null });
    expect(source.traffic()).toEqual([]);
    expect(source.drops!()).toEqual([]);
  });
});
