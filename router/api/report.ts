/**
 * The shape of `GET /report`: what the router knows, as JSON, for people and
 * for the CLI (`weft report`, `weft status` views). The daemon builds the
 * `router` section from the mesh core; other subsystems add their own
 * top-level sections (`ipam`, `overlay`, …) through `ApiExtension.report`.
 *
 * Never put secrets here: the password appears only as `encryption: true`.
 */

import type { MeshReport } from '../mesh/report.js';

export type {
  MeshConnectionReport as ConnectionReport,
  MeshPeerConnectionReport as PeerConnectionReport,
  MeshPeerReport as PeerReport,
  MeshTargetReport as TargetReport,
} from '../mesh/report.js';

/** The `router` section is the mesh core's own report (router/mesh/report.ts). */
export type RouterReport = MeshReport;

export interface Report {
  /** weft's software version. */
  version: string;
  router: RouterReport;
  /** Sections contributed by other subsystems, by name. */
  [section: string]: unknown;
}

// JSON schemas (fastify serialises /report with them). They list the fields
// /status and the CLI rely on; every object is open (`additionalProperties`)
// so a field the mesh core adds later shows up instead of being dropped.

type Schema = Record<string, unknown>;
const str = { type: 'string' };
const int = { type: 'integer' };
const bool = { type: 'boolean' };
const arrayOf = (items: Schema): Schema => ({ type: 'array', items });

/** An open object schema; every listed property is required unless named in `optional`. */
function object(properties: Record<string, Schema>, optional: string[] = []): Schema {
  return {
    type: 'object',
    additionalProperties: true,
    required: Object.keys(properties).filter((k) => !optional.includes(k)),
    properties,
  };
}

const peerConnectionSchema = object({
  name: str,
  nickname: str,
  address: str,
  outbound: bool,
  established: bool,
});

const peerSchema = object({
  name: str,
  nickname: str,
  uid: str,
  version: int,
  shortId: { type: ['integer', 'null'] },
  connections: arrayOf(peerConnectionSchema),
});

const overlaySchema = object({ path: str, encrypted: bool, healthy: bool, pmtu: int }, ['pmtu']);

const connectionSchema = object(
  {
    id: int,
    address: str,
    outbound: bool,
    state: str,
    info: str,
    name: str,
    nickname: str,
    uid: str,
    encrypted: bool,
    protocolVersion: int,
    overlay: overlaySchema,
  },
  ['name', 'nickname', 'uid', 'protocolVersion', 'overlay'],
);

const targetSchema = object(
  {
    address: str,
    direct: bool,
    state: str,
    failures: int,
    lastError: { type: ['string', 'null'] },
    retryInMs: { type: 'number' },
    peer: str,
  },
  ['retryInMs', 'peer'],
);

export const routerReportSchema = object({
  name: str,
  nickname: str,
  uid: str,
  version: int,
  shortId: { type: ['integer', 'null'] },
  protocol: object({ name: str, minVersion: int, maxVersion: int }),
  encryption: bool,
  peerDiscovery: bool,
  port: int,
  connLimit: int,
  peers: arrayOf(peerSchema),
  connections: arrayOf(connectionSchema),
  targets: arrayOf(targetSchema),
  terminations: int,
  unicastRoutes: { type: 'object', additionalProperties: str },
  topologyDigest: str,
});

/** The whole /report: version, router, and extension sections serialised as they are. */
export const reportSchema = object({ version: str, router: routerReportSchema });
