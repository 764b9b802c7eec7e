/**
 * The mesh's timing and sizing knobs, named once. Every one can be overridden
 * through `MeshOptions` (tests and the simulator shorten them); these are the
 * production defaults, chosen as in Weave's mesh where it had one.
 */
export const MESH_DEFAULTS = {
  /** Intro + handshake + hello must finish within this. */
  setupTimeoutMs: 10_000,
  /** Send a heartbeat this often on every connection. */
  heartbeatIntervalMs: 30_000,
  /** Close a connection that sent nothing for this long. */
  readDeadlineMs: 60_000,
  /** Full state of every channel to a random subset of neighbours this often. */
  gossipIntervalMs: 30_000,
  /**
   * Our own topology changes (and what we learn from neighbours) are gathered
   * this long before going out as one broadcast, so a burst of connection
   * changes costs one message per peer instead of one per change.
   */
  topologyBatchMs: 10,
  /**
   * Records learned from a neighbour (a new connection's full state, an
   * anti-entropy answer) are passed on to everyone after this long, unless a
   * broadcast brought them meanwhile: it carries a healed partition's records
   * across without flooding when everyone starts at once.
   */
  topologyRelayDelayMs: 1000,
  /** Routes (and reachability/GC) are recomputed at most this often. */
  routesDebounceMs: 100,
  /** Unreachable peers' records are kept this long (not gossiped) in case a later update reconnects them. */
  limboMs: 60_000,
  /** Dial timeout for outbound connections. */
  dialTimeoutMs: 10_000,
  /** Back-off: first retry after this (±jitter), ×factor per failure, up to max. */
  backoffInitialMs: 2_000,
  backoffFactor: 1.5,
  backoffMaxMs: 6 * 60_000,
  /** ± this fraction of random jitter on every back-off delay. */
  backoffJitter: 0.5,
  /** A connection that stayed up this long resets its target's back-off. */
  backoffResetAfterMs: 60_000,
  /** How often the connection maker looks at its targets (and after every change, sooner). */
  connectionMakerIntervalMs: 10_000,
  connLimit: 200,
  /**
   * Unauthenticated connections (accepted, hello not yet accepted; admission.ts):
   * accepted streams per second (token buckets: all sources, and per source
   * address) and bursts, and how many may be pending at once, in total and per
   * source address. Sized for a few hundred peers all (re)connecting at once;
   * a refused peer retries with back-off.
   */
  acceptRatePerSecond: 100,
  acceptBurst: 400,
  acceptRatePerSource: 10,
  acceptBurstPerSource: 40,
  maxPending: 400,
  maxPendingPerSource: 16,
  /** Pending neighbour gossip per channel per connection before it collapses into full state. */
  maxPendingGossip: 16,
  /** Neighbour gossip to a connection with more than this unsent waits (and merges). */
  gossipBacklogBytes: 1024 * 1024,
  /** How soon to look again at a backed-up connection. */
  gossipBacklogRetryMs: 100,
  /** Broadcast ids remembered per source for duplicate suppression (sliding window). */
  broadcastWindow: 32,
};

export type MeshTuning = typeof MESH_DEFAULTS;

/** The well-known port weft listens on; a target without a port gets it. */
export const DEFAULT_MESH_PORT = 6783;

/** Name of the built-in channel that carries the topology. */
export const TOPOLOGY_CHANNEL = 'topology';
