/**
 * The IPAM metrics source, read from the allocator's status (the same data as
 * `weft status ipam`).
 */
import { cidrSize, parseCidr } from '../../common/ip.js';
import type { IpamStatus } from '../../ipam/types.js';
import type { IpamMetricsSample, IpamMetricsSource } from './sources.js';

/** The fields of IpamStatus the metrics use (`conflictsTotal` is newer: summed from `conflicts` when absent). */
export type IpamStatusForMetrics = Pick<
  IpamStatus,
  'state' | 'range' | 'owned' | 'free' | 'unreachable' | 'pending' | 'conflicts'
> & { conflictsTotal?: number };

export function ipamMetricsSample(s: IpamStatusForMetrics): IpamMetricsSample {
  const range = parseCidr(s.range);
  return {
    state: s.state,
    rangeSize: range ? cidrSize(range) : 0,
    localUsed: Math.max(0, s.owned - s.free),
    localFree: s.free,
    unreachableOwners: s.unreachable.length,
    unreachableAddresses: s.unreachable.reduce((n, o) => n + o.addresses, 0),
    pendingAllocates: s.pending.allocate,
    pendingClaims: s.pending.claim,
    ringConflicts: s.conflictsTotal ?? s.conflicts.reduce((n, c) => n + c.count, 0),
  };
}

/** `status` returns null while IPAM is disabled or not started. */
export function ipamMetricsSource(status: () => IpamStatusForMetrics | null): IpamMetricsSource {
  return {
    sample() {
      const s = status();
      return s ? ipamMetricsSample(s) : null;
    },
  };
}
