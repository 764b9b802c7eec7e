/**
 * What the metrics collectors read at scrape time. Each subsystem is seen
 * through one small interface, so the daemon passes plain objects (or the
 * adapters beside this file, which build them from `MeshReport`,
 * `IpamStatus` and the sleeve engine's stats) and the collectors never hold
 * references into the cores. Every method is called once per scrape, must be
 * cheap and synchronous, and must not throw (a throwing source is logged and
 * its metrics are left out of that scrape).
 */

/**
 * Connection states as Weave's `weave_connections` shows them:
 * - `connecting`: TCP dial in progress;
 * - `pending`: TCP up, handshake or overlay not yet established;
 * - `established`: data can flow;
 * - `retrying`: no connection, the target waits for its next attempt;
 * - `failed`: no connection, the target gave up (e.g. a name collision).
 */
export type ConnectionMetricState = 'connecting' | 'pending' | 'established' | 'retrying' | 'failed';

export const CONNECTION_METRIC_STATES: readonly ConnectionMetricState[] = [
  'connecting',
  'pending',
  'established',
  'retrying',
  'failed',
];

export interface ConnectionSample {
  state: ConnectionMetricState;
  /** The overlay carrying data: "fastdp", "sleeve", or "none" (no data path yet). */
  type: string;
  encrypted: boolean;
}

export interface MeshMetricsSource {
  /** One entry per connection or connection attempt. */
  connections(): ConnectionSample[];
  /** Connections that ended since the router started (monotonic). */
  terminations(): number;
  /** Peers in our topology, ourselves included. */
  peers(): number;
}

export interface IpamMetricsSample {
  /** ready | awaiting-consensus | awaiting-ring | left (the core's IpamState). */
  state: string;
  /** Size of the whole allocation range (`--ipalloc-range`). */
  rangeSize: number;
  /** Addresses in ranges we own that are allocated to containers. */
  localUsed: number;
  /** Addresses in ranges we own that are free. */
  localFree: number;
  /** Owners (peer incarnations other than ours) of space that we cannot reach now, or that are gone. */
  unreachableOwners: number;
  /** Addresses owned by those owners. */
  unreachableAddresses: number;
  pendingAllocates: number;
  pendingClaims: number;
  /** Ring updates from peers that we refused since start (monotonic). */
  ringConflicts: number;
}

export interface IpamMetricsSource {
  /** The current sample, or null while IPAM is disabled or not yet started. */
  sample(): IpamMetricsSample | null;
}

export type OverlayPathName = 'fastdp' | 'sleeve';

/**
 * Traffic on one overlay path, as counters since the data plane started. A
 * counter that goes backwards (a peer's slot was freed, an engine or device
 * was recreated) is treated as a reset: the exported total stays monotonic.
 */
export interface OverlayTrafficSample {
  /** What is counting (a peer slot, a device): resets are detected per key. */
  key?: string;
  path: OverlayPathName;
  encrypted: boolean;
  txBytes: number;
  txPackets: number;
  rxBytes: number;
  rxPackets: number;
}

export interface OverlayDropSample {
  /** What is counting (a peer slot, a device): resets are detected per key. */
  key?: string;
  path: OverlayPathName;
  /** Why the packets were dropped ("auth-failed", "replayed", "no-route", …). */
  reason: string;
  packets: number;
}

export interface DataplaneMetricsSource {
  traffic(): OverlayTrafficSample[];
  /** Packets the data plane dropped, by reason (optional). */
  drops?(): OverlayDropSample[];
}

/** Everything the registry factory can collect; absent sources export nothing. */
export interface MetricsSources {
  mesh?: MeshMetricsSource;
  ipam?: IpamMetricsSource;
  dataplane?: DataplaneMetricsSource;
}
