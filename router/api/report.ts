/**
 * The shape of `GET /report`: what the router knows, as JSON, for people and
 * for the CLI (`weft report`, `weft status` views). The daemon builds the
 * `router` section from the mesh core; other subsystems add their own
 * top-level sections (`ipam`, `overlay`, …) through `ApiExtension.report`.
 *
 * Never put secrets here: the password appears only as `encryption: true`.
 */

export interface PeerConnectionReport {
  /** The remote peer's name. */
  name: string;
  nickname: string;
  /** TCP address of the connection as the reporting peer sees it. */
  address: string;
  outbound: boolean;
  established: boolean;
}

/** One entry of the gossiped topology. */
export interface PeerReport {
  name: string;
  nickname: string;
  /** 64-bit UID in decimal (JSON has no 64-bit integers). */
  uid: string;
  version: number;
  connections: PeerConnectionReport[];
}

/**
 * One of *our* connections or connection attempts. `state` is the connection
 * state machine's state (see router/mesh); `info` a human explanation (the
 * last error, when the next retry is).
 */
export interface ConnectionReport {
  address: string;
  outbound: boolean;
  state: string;
  info: string;
  /** The remote peer, once the handshake told us who it is. */
  name?: string;
  nickname?: string;
  encrypted: boolean;
  /** The data path the overlay uses for this peer, when there is one. */
  overlay?: { path: string; healthy: boolean; encrypted: boolean; pmtu?: number };
}

export interface RouterReport {
  name: string;
  nickname: string;
  uid: string;
  protocol: { name: string; minVersion: number; maxVersion: number };
  encryption: boolean;
  peerDiscovery: boolean;
  port: number;
  connLimit: number;
  /** The gossiped topology, ourselves included. */
  peers: PeerReport[];
  connections: ConnectionReport[];
  /** Addresses we keep trying to connect to (command line, /connect, discovery). */
  targets: string[];
  /** Connections that ended since start (for spotting flapping). */
  terminations: number;
  /** Next hop for each reachable peer over established connections. */
  unicastRoutes: Record<string, string>;
}

export interface Report {
  /** weft's software version. */
  version: string;
  router: RouterReport;
  /** Sections contributed by other subsystems, by name. */
  [section: string]: unknown;
}

// JSON schemas (fastify serialises /report with them; keep in step with the types).

const peerConnectionSchema = {
  type: 'object',
  required: ['name', 'nickname', 'address', 'outbound', 'established'],
  properties: {
    name: { type: 'string' },
    nickname: { type: 'string' },
    address: { type: 'string' },
    outbound: { type: 'boolean' },
    established: { type: 'boolean' },
  },
} as const;

const peerSchema = {
  type: 'object',
  required: ['name', 'nickname', 'uid', 'version', 'connections'],
  properties: {
    name: { type: 'string' },
    nickname: { type: 'string' },
    uid: { type: 'string' },
    version: { type: 'integer' },
    connections: { type: 'array', items: peerConnectionSchema },
  },
} as const;

const connectionSchema = {
  type: 'object',
  required: ['address', 'outbound', 'state', 'info', 'encrypted'],
  properties: {
    address: { type: 'string' },
    outbound: { type: 'boolean' },
    state: { type: 'string' },
    info: { type: 'string' },
    name: { type: 'string' },
    nickname: { type: 'string' },
    encrypted: { type: 'boolean' },
    overlay: {
      type: 'object',
      required: ['path', 'healthy', 'encrypted'],
      properties: {
        path: { type: 'string' },
        healthy: { type: 'boolean' },
        encrypted: { type: 'boolean' },
        pmtu: { type: 'integer' },
      },
    },
  },
} as const;

export const routerReportSchema = {
  type: 'object',
  required: [
    'name',
    'nickname',
    'uid',
    'protocol',
    'encryption',
    'peerDiscovery',
    'port',
    'connLimit',
    'peers',
    'connections',
    'targets',
    'terminations',
    'unicastRoutes',
  ],
  properties: {
    name: { type: 'string' },
    nickname: { type: 'string' },
    uid: { type: 'string' },
    protocol: {
      type: 'object',
      required: ['name', 'minVersion', 'maxVersion'],
      properties: {
        name: { type: 'string' },
        minVersion: { type: 'integer' },
        maxVersion: { type: 'integer' },
      },
    },
    encryption: { type: 'boolean' },
    peerDiscovery: { type: 'boolean' },
    port: { type: 'integer' },
    connLimit: { type: 'integer' },
    peers: { type: 'array', items: peerSchema },
    connections: { type: 'array', items: connectionSchema },
    targets: { type: 'array', items: { type: 'string' } },
    terminations: { type: 'integer' },
    unicastRoutes: { type: 'object', additionalProperties: { type: 'string' } },
  },
} as const;

export const reportSchema = {
  type: 'object',
  required: ['version', 'router'],
  properties: { version: { type: 'string' }, router: routerReportSchema },
  // Extension sections are serialised as they are.
  additionalProperties: true,
} as const;
