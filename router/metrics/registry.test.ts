import { describe, expect, it } from 'vitest';
import { RecordingLogger } from '../../common/logger.js';
import { type MetricFamily, parseExposition } from './exposition.js';
import { createMetricsRegistry } from './registry.js';
import type {
  ConnectionSample,
  IpamMetricsSample,
  MetricsSources,
  OverlayDropSample,
  OverlayTrafficSample,
} from './sources.js';

// The registry over mutable fake sources: every scrape parses as Prometheus
// text, and every metric follows its source from one scrape to the next.

class Fakes {
  connections: ConnectionSample[] = [];
  terminations = 0;
  peers = 1;
  ipam: IpamMetricsSample | null = null;
  traffic: OverlayTrafficSample[] = [];
  drops: OverlayDropSample[] = [];
  fail: Error | undefined;
  sources(): MetricsSources {
    const guard = () => {
      if (this.fail) throw this.fail;
    };
    return {
      mesh: {
        connections: () => {
          guard();
          return this.connections;
        },
        terminations: () => {
          guard();
          return this.terminations;
        },
        peers: () => this.peers,
      },
      ipam: {
        sample: () => {
          guard();
          return this.ipam;
        },
      },
      dataplane: {
        traffic: () => {
          guard();
          return this.traffic;
        },
        drops: () => this.drops,
      },
    };
  }
}

function setup(opts: { processMetrics?: boolean } = {}) {
  const fakes = new Fakes();
  const logger = new RecordingLogger();
  const registry = createMetricsRegistry({
    version: '9.9.9-test',
    sources: fakes.sources(),
    processMetrics: opts.processMetrics ?? false,
    logger,
  });
  const scrape = async (): Promise<Map<string, MetricFamily>> => {
    const r = parseExposition(await registry.metrics());
    if (!r.ok) throw new Error(`line ${r.error.line}: ${r.error.reason}`);
    return r.value;
  };
  return { fakes, registry, scrape, logger };
}

/** The value of the series of `name` whose labels include `labels` (undefined when absent). */
function value(
  fams: Map<string, MetricFamily>,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  const fam = fams.get(name);
  const s = fam?.samples.find((x) => Object.entries(labels).every(([k, v]) => x.labels[k] === v));
  return s?.value;
}

const established = (type: string, encrypted = true): ConnectionSample => ({
  state: 'established',
  type,
  encrypted,
});

describe('createMetricsRegistry', () => {
  it('exports build info and, when asked, process metrics', async () => {
    const { scrape } = setup({ processMetrics: true });
    const fams = await scrape();
    expect(value(fams, 'weft_build_info', { version: '9.9.9-test' })).toBe(1);
    expect(fams.get('process_cpu_user_seconds_total')?.type).toBe('counter');
    expect(fams.get('process_resident_memory_bytes')?.type).toBe('gauge');
  });

  it('counts connections by state, type and encryption, and keeps a series at 0 when its connections drop', async () => {
    const { fakes, scrape } = setup();
    fakes.connections = [
      established('fastdp', false),
      established('sleeve'),
      established('sleeve'),
      { state: 'pending', type: 'none', encrypted: true },
      { state: 'retrying', type: 'none', encrypted: true },
    ];
    let fams = await scrape();
    expect(fams.get('weft_connections')?.type).toBe('gauge');
    expect(
      value(fams, 'weft_connections', { state: 'established', type: 'sleeve', encryption: 'enabled' }),
    ).toBe(2);
    expect(
      value(fams, 'weft_connections', { state: 'established', type: 'fastdp', encryption: 'disabled' }),
    ).toBe(1);
    expect(value(fams, 'weft_connections', { state: 'pending', type: 'none' })).toBe(1);
    expect(value(fams, 'weft_connections', { state: 'retrying' })).toBe(1);

    fakes.connections = [established('sleeve'), { state: 'retrying', type: 'none', encrypted: true }];
    fams = await scrape();
    expect(value(fams, 'weft_connections', { state: 'established', type: 'sleeve' })).toBe(1);
    expect(value(fams, 'weft_connections', { state: 'established', type: 'fastdp' })).toBe(0);
    expect(value(fams, 'weft_connections', { state: 'pending' })).toBe(0);
  });

  it('follows terminations as a counter and the number of peers as a gauge', async () => {
    const { fakes, scrape } = setup();
    let fams = await scrape();
    expect(fams.get('weft_connection_terminations_total')?.type).toBe('counter');
    expect(value(fams, 'weft_connection_terminations_total')).toBe(0);
    expect(value(fams, 'weft_peers')).toBe(1);
    fakes.terminations = 3;
    fakes.peers = 4;
    fams = await scrape();
    expect(value(fams, 'weft_connection_terminations_total')).toBe(3);
    expect(value(fams, 'weft_peers')).toBe(4);
  });

  it('exports the IPAM sample: addresses, range, unreachable space, pending operations, state and conflicts', async () => {
    const { fakes, scrape } = setup();
    fakes.ipam = {
      state: 'ready',
      rangeSize: 1024,
      localUsed: 3,
      localFree: 509,
      unreachableOwners: 1,
      unreachableAddresses: 256,
      pendingAllocates: 2,
      pendingClaims: 1,
      ringConflicts: 5,
    };
    let fams = await scrape();
    expect(value(fams, 'weft_ips', { state: 'local-used' })).toBe(3);
    expect(value(fams, 'weft_ips', { state: 'local-free' })).toBe(509);
    expect(value(fams, 'weft_max_ips')).toBe(1024);
    expect(value(fams, 'weft_ipam_unreachable_count')).toBe(1);
    expect(value(fams, 'weft_ipam_unreachable_percentage')).toBe(25);
    expect(value(fams, 'weft_ipam_pending_allocates')).toBe(2);
    expect(value(fams, 'weft_ipam_pending_claims')).toBe(1);
    expect(value(fams, 'weft_ipam_state', { state: 'ready' })).toBe(1);
    expect(value(fams, 'weft_ipam_ring_conflicts_total')).toBe(5);

    fakes.ipam = {
      ...fakes.ipam,
      state: 'awaiting-ring',
      localUsed: 4,
      localFree: 508,
      unreachableOwners: 0,
      unreachableAddresses: 0,
    };
    fams = await scrape();
    expect(value(fams, 'weft_ips', { state: 'local-used' })).toBe(4);
    expect(value(fams, 'weft_ipam_unreachable_percentage')).toBe(0);
    expect(value(fams, 'weft_ipam_state', { state: 'ready' })).toBe(0);
    expect(value(fams, 'weft_ipam_state', { state: 'awaiting-ring' })).toBe(1);
  });

  it('reads the IPAM source once per scrape', async () => {
    let reads = 0;
    const registry = createMetricsRegistry({
      version: 't',
      processMetrics: false,
      sources: {
        ipam: {
          sample: () => {
            reads++;
            return null;
          },
        },
      },
    });
    await registry.metrics();
    expect(reads).toBe(1);
    await registry.metrics();
    expect(reads).toBe(2);
  });

  it('sums traffic per path, direction and encryption, monotonic across a peer slot reset', async () => {
    const { fakes, scrape } = setup();
    const sleeve = (key: string, tx: number, rx: number): OverlayTrafficSample => ({
      key,
      path: 'sleeve',
      encrypted: true,
      txBytes: tx * 1000,
      txPackets: tx,
      rxBytes: rx * 1000,
      rxPackets: rx,
    });
    fakes.traffic = [
      sleeve('p1', 10, 20),
      sleeve('p2', 5, 1),
      { key: 'vx', path: 'fastdp', encrypted: false, txBytes: 7, txPackets: 1, rxBytes: 9, rxPackets: 2 },
    ];
    fakes.drops = [{ key: 'p1', path: 'sleeve', reason: 'replayed', packets: 2 }];
    let fams = await scrape();
    const lbl = (path: string, direction: string, encryption: string) => ({ path, direction, encryption });
    expect(fams.get('weft_overlay_bytes_total')?.type).toBe('counter');
    expect(value(fams, 'weft_overlay_packets_total', lbl('sleeve', 'tx', 'enabled'))).toBe(15);
    expect(value(fams, 'weft_overlay_packets_total', lbl('sleeve', 'rx', 'enabled'))).toBe(21);
    expect(value(fams, 'weft_overlay_bytes_total', lbl('sleeve', 'rx', 'enabled'))).toBe(21_000);
    expect(value(fams, 'weft_overlay_bytes_total', lbl('fastdp', 'tx', 'disabled'))).toBe(7);
    expect(value(fams, 'weft_overlay_dropped_packets_total', { path: 'sleeve', reason: 'replayed' })).toBe(2);

    // p2 was forgotten and its slot reused by p3, which has sent 2 packets; p1 sent 1 more.
    fakes.traffic = [sleeve('p1', 11, 20), sleeve('p3', 2, 0)];
    fams = await scrape();
    expect(value(fams, 'weft_overlay_packets_total', lbl('sleeve', 'tx', 'enabled'))).toBe(18);
    // The fastdp device vanished: its total stays, it does not drop to 0.
    expect(value(fams, 'weft_overlay_bytes_total', lbl('fastdp', 'tx', 'disabled'))).toBe(7);
  });

  it('keeps counting correctly while peers come and go (each seen once, then forgotten)', async () => {
    const { fakes, scrape } = setup();
    let fams = await scrape();
    for (let i = 0; i < 50; i++) {
      fakes.traffic = [
        {
          key: `p${i}`,
          path: 'sleeve',
          encrypted: true,
          txBytes: 100,
          txPackets: 1,
          rxBytes: 0,
          rxPackets: 0,
        },
      ];
      fams = await scrape();
    }
    fakes.traffic = [];
    fams = await scrape();
    const lbl = { path: 'sleeve', direction: 'tx', encryption: 'enabled' };
    expect(value(fams, 'weft_overlay_packets_total', lbl)).toBe(50);
    expect(value(fams, 'weft_overlay_bytes_total', lbl)).toBe(5000);
  });

  it('keeps the previous values when a source throws, and warns once per metric', async () => {
    const { fakes, scrape, logger } = setup();
    fakes.connections = [established('sleeve')];
    fakes.terminations = 2;
    await scrape();
    fakes.fail = new Error('core is busy');
    let fams = await scrape();
    fams = await scrape();
    expect(value(fams, 'weft_connections', { state: 'established', type: 'sleeve' })).toBe(1);
    expect(value(fams, 'weft_connection_terminations_total')).toBe(2);
    const warnings = logger.records.filter(
      (r) => r.level === 'warn' && r.fields.metric === 'weft_connections',
    );
    expect(warnings).toHaveLength(1);
    expect(String(warnings[0]!.fields.err)).toContain('core is busy');
    fakes.fail = undefined;
    fakes.connections = [];
    fams = await scrape();
    expect(value(fams, 'weft_connections', { state: 'established', type: 'sleeve' })).toBe(0);
  });

  it('exports nothing for sources that are absent', async () => {
    const registry = createMetricsRegistry({ version: 't', processMetrics: false, sources: {} });
    const r = parseExposition(await registry.metrics());
    expect(r.ok && [...r.value.keys()]).toEqual(['weft_build_info']);
  });
});
