/**
 * Data-plane metrics: bytes and packets carried per overlay path (fastdp =
 * kernel VXLAN, sleeve = userspace UDP), direction and encryption, and packets
 * dropped by reason. Weave had only flow counts here; a silent fall-back from
 * fastdp to sleeve, or a sleeve dropping at its socket, must be visible.
 */
import type { Registry } from 'prom-client';
import { encryptionLabel } from './mesh-metrics.js';
import { type CumulativeReading, oncePerScrape, type PullErrorHandler, pulledCounter } from './pulled.js';
import type { DataplaneMetricsSource, OverlayTrafficSample } from './sources.js';

export const DATAPLANE_METRIC_NAMES = {
  bytes: 'weft_overlay_bytes_total',
  packets: 'weft_overlay_packets_total',
  drops: 'weft_overlay_dropped_packets_total',
} as const;

function readings(samples: OverlayTrafficSample[], unit: 'Bytes' | 'Packets'): CumulativeReading[] {
  const out: CumulativeReading[] = [];
  for (const s of samples) {
    const encryption = encryptionLabel(s.encrypted);
    const key = s.key ?? '';
    out.push({ labels: { path: s.path, direction: 'tx', encryption }, value: s[`tx${unit}`], key });
    out.push({ labels: { path: s.path, direction: 'rx', encryption }, value: s[`rx${unit}`], key });
  }
  return out;
}

export function registerDataplaneMetrics(
  registry: Registry,
  source: DataplaneMetricsSource,
  onError: PullErrorHandler,
): void {
  const labelNames = ['path', 'direction', 'encryption'] as const;
  const traffic = oncePerScrape(() => source.traffic());
  pulledCounter(registry, {
    name: DATAPLANE_METRIC_NAMES.bytes,
    help: 'Bytes of container traffic carried between hosts, by overlay path, direction and encryption.',
    labelNames,
    read: () => readings(traffic(), 'Bytes'),
    onError,
  });
  pulledCounter(registry, {
    name: DATAPLANE_METRIC_NAMES.packets,
    help: 'Packets of container traffic carried between hosts, by overlay path, direction and encryption.',
    labelNames,
    read: () => readings(traffic(), 'Packets'),
    onError,
  });
  const drops = source.drops?.bind(source);
  if (drops) {
    pulledCounter(registry, {
      name: DATAPLANE_METRIC_NAMES.drops,
      help: 'Packets the data plane dropped, by overlay path and reason.',
      labelNames: ['path', 'reason'],
      read: () =>
        drops().map((d) => ({
          labels: { path: d.path, reason: d.reason },
          value: d.packets,
          key: d.key ?? '',
        })),
      onError,
    });
  }
}
