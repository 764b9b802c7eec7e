/**
 * The data plane's metrics source: sleeve counters from the native engine's
 * stats (per peer, so a forgotten peer's counters vanishing is not mistaken for
 * traffic), fastdp counters from the kernel VXLAN device's statistics.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DataplaneMetricsSource, OverlayDropSample, OverlayTrafficSample } from '../metrics/sources.js';
import type { SleeveStats } from './sleeve-native.js';

export function sleeveTrafficSamples(stats: SleeveStats): OverlayTrafficSample[] {
  return stats.peers.map((p) => ({
    key: `sleeve:${p.name}`,
    path: 'sleeve',
    encrypted: p.encrypted,
    txBytes: p.txBytes,
    txPackets: p.txPackets,
    rxBytes: p.rxBytes,
    rxPackets: p.rxPackets,
  }));
}

export function sleeveDropSamples(stats: SleeveStats): OverlayDropSample[] {
  const out: OverlayDropSample[] = [];
  const add = (key: string, drops: Record<string, number>) => {
    for (const [reason, packets] of Object.entries(drops)) out.push({ key, path: 'sleeve', reason, packets });
  };
  add('sleeve', stats.global.drops);
  add('sleeve', { 'no-route': stats.global.noRoute, 'ttl-expired': stats.global.ttlExpired });
  for (const p of stats.peers) add(`sleeve:${p.name}`, p.drops);
  return out;
}

export interface LinkCounters {
  rxBytes: number;
  rxPackets: number;
  rxDropped: number;
  txBytes: number;
  txPackets: number;
  txDropped: number;
}

/**
 * A network device's counters from sysfs, or undefined when there is no such
 * device. sysfs shows the devices of the network namespace it was mounted in:
 * `ip netns exec` remounts it, so a router started that way reads its own.
 */
export function readLinkCounters(ifname: string, sysClassNet = '/sys/class/net'): LinkCounters | undefined {
  if (!/^[A-Za-z0-9_.-]{1,15}$/.test(ifname)) return undefined;
  const dir = join(sysClassNet, ifname, 'statistics');
  const read = (f: string) => Number(readFileSync(join(dir, f), 'utf8').trim());
  try {
    return {
      rxBytes: read('rx_bytes'),
      rxPackets: read('rx_packets'),
      rxDropped: read('rx_dropped'),
      txBytes: read('tx_bytes'),
      txPackets: read('tx_packets'),
      txDropped: read('tx_dropped'),
    };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

export interface DataplaneSourceOptions {
  /** The sleeve engine's stats, or null when no engine runs. */
  sleeve?: () => SleeveStats | null;
  /** Name of the VXLAN device fastdp uses (counters read from sysfs). */
  fastdpDevice?: string;
  /** For tests: where sysfs' class/net is. */
  sysClassNet?: string;
}

export function dataplaneMetricsSource(opts: DataplaneSourceOptions): DataplaneMetricsSource {
  const fastdp = (): LinkCounters | undefined =>
    opts.fastdpDevice === undefined ? undefined : readLinkCounters(opts.fastdpDevice, opts.sysClassNet);
  return {
    traffic() {
      const out: OverlayTrafficSample[] = [];
      const link = fastdp();
      if (link) {
        // Kernel VXLAN carries container frames unencrypted (no IPsec here).
        out.push({ key: `fastdp:${opts.fastdpDevice}`, path: 'fastdp', encrypted: false, ...link });
      }
      const stats = opts.sleeve?.();
      if (stats) out.push(...sleeveTrafficSamples(stats));
      return out;
    },
    drops() {
      const out: OverlayDropSample[] = [];
      const link = fastdp();
      if (link) {
        const key = `fastdp:${opts.fastdpDevice}`;
        out.push({ key, path: 'fastdp', reason: 'rx-dropped', packets: link.rxDropped });
        out.push({ key, path: 'fastdp', reason: 'tx-dropped', packets: link.txDropped });
      }
      const stats = opts.sleeve?.();
      if (stats) out.push(...sleeveDropSamples(stats));
      return out;
    },
  };
}
