/**
 * IPAM metrics, after Weave's `weave_ips`, `weave_max_ips`,
 * `weave_ipam_unreachable_{count,percentage}` and
 * `weave_ipam_pending_{allocates,claims}`, plus the ring state and refused
 * ring updates (the early sign of the "ring falling apart" failures).
 */
import type { Registry } from 'prom-client';
import {
  type LabelledValue,
  oncePerScrape,
  type PullErrorHandler,
  pulledCounter,
  pulledGauge,
} from './pulled.js';
import type { IpamMetricsSample, IpamMetricsSource } from './sources.js';

export const IPAM_METRIC_NAMES = {
  ips: 'weft_ips',
  maxIps: 'weft_max_ips',
  unreachableCount: 'weft_ipam_unreachable_count',
  unreachablePercentage: 'weft_ipam_unreachable_percentage',
  pendingAllocates: 'weft_ipam_pending_allocates',
  pendingClaims: 'weft_ipam_pending_claims',
  state: 'weft_ipam_state',
  ringConflicts: 'weft_ipam_ring_conflicts_total',
} as const;

/** Share of the range owned by peers we cannot reach, in percent (0 for an empty range). */
export function unreachablePercentage(s: IpamMetricsSample): number {
  return s.rangeSize > 0 ? (100 * s.unreachableAddresses) / s.rangeSize : 0;
}

export function registerIpamMetrics(
  registry: Registry,
  source: IpamMetricsSource,
  onError: PullErrorHandler,
): void {
  // Read once per scrape so that the IPAM metrics agree with each other.
  const sample = oncePerScrape(() => source.sample());
  const gauge = (name: string, help: string, pick: (s: IpamMetricsSample) => number) =>
    pulledGauge(registry, {
      name,
      help,
      read: () => {
        const s = sample();
        return s ? [{ labels: {}, value: pick(s) }] : [];
      },
      onError,
    });
  pulledGauge(registry, {
    name: IPAM_METRIC_NAMES.ips,
    help: 'Addresses in the ranges this router owns, by state (local-used: allocated, local-free: available).',
    labelNames: ['state'],
    read: (): LabelledValue[] => {
      const s = sample();
      return s
        ? [
            { labels: { state: 'local-used' }, value: s.localUsed },
            { labels: { state: 'local-free' }, value: s.localFree },
          ]
        : [];
    },
    onError,
  });
  gauge(IPAM_METRIC_NAMES.maxIps, 'Size of the whole allocation range.', (s) => s.rangeSize);
  gauge(
    IPAM_METRIC_NAMES.unreachableCount,
    'Number of peers owning address space that this router cannot reach.',
    (s) => s.unreachableOwners,
  );
  gauge(
    IPAM_METRIC_NAMES.unreachablePercentage,
    'Percentage of the allocation range owned by peers this router cannot reach.',
    unreachablePercentage,
  );
  gauge(
    IPAM_METRIC_NAMES.pendingAllocates,
    'Allocation requests waiting for address space or for the ring.',
    (s) => s.pendingAllocates,
  );
  gauge(IPAM_METRIC_NAMES.pendingClaims, 'Address claims waiting for the ring.', (s) => s.pendingClaims);
  pulledGauge(registry, {
    name: IPAM_METRIC_NAMES.state,
    help: 'IPAM state of this router: 1 for the current state.',
    labelNames: ['state'],
    read: () => {
      const s = sample();
      return s ? [{ labels: { state: s.state }, value: 1 }] : [];
    },
    onError,
  });
  pulledCounter(registry, {
    name: IPAM_METRIC_NAMES.ringConflicts,
    help: 'Ring updates from peers that this router refused since it started.',
    read: () => {
      const s = sample();
      return s ? [{ labels: {}, value: s.ringConflicts }] : [];
    },
    onError,
  });
}
