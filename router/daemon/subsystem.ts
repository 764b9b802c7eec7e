/**
 * How the subsystems that ride on the mesh (IPAM, the data plane, later DNS)
 * join the daemon without the daemon knowing them: each is a factory the
 * daemon calls once the mesh core exists (before it starts), which returns
 * what the router should expose (API routes and report sections, metrics)
 * and how to stop it. The daemon starts them in order and stops them in
 * reverse, before the mesh closes.
 *
 *   const ipam: SubsystemFactory = async (ctx) => {
 *     const sender = ctx.mesh.registerChannel('ipam', gossiper);
 *     ...
 *     return { name: 'ipam', api: { name: 'ipam', report, routes }, metrics: { ipam }, stop };
 *   };
 *   await startRouter(config, { subsystems: [ipam] });
 *
 * The data plane is different only in that the mesh needs it at construction
 * (`Overlay`), so it comes through `overlay` (see run.ts).
 */
import type { Clock } from '../../common/clock.js';
import type { Logger } from '../../common/logger.js';
import type { Random } from '../../common/random.js';
import type { ApiExtension } from '../api/extension.js';
import type { Overlay } from '../mesh/overlay-api.js';
import type { MeshRouter } from '../mesh/router.js';
import type { MetricsSources } from '../metrics/sources.js';
import type { Database } from '../store/database.js';
import type { RouterConfig } from './config.js';

export interface SubsystemContext {
  config: RouterConfig;
  /** Our peer name and this incarnation's UID. */
  name: string;
  uid: bigint;
  /** The router database in the data dir: bring your own migrations (`db.migrate('ipam', …)`). */
  db: Database;
  /** The mesh core: registerChannel, onPeersChanged, peers(), routes(), report(). */
  mesh: MeshRouter;
  clock: Clock;
  random: Random;
  /** The daemon's logger; add your own `component` binding. */
  logger: Logger;
  /** Ask the router to shut down gracefully (e.g. after handing our space away on DELETE /peer). */
  requestShutdown(reason: string): void;
}

export interface Subsystem {
  readonly name: string;
  api?: ApiExtension;
  metrics?: Partial<MetricsSources>;
  /** After the mesh started listening and dialling. */
  start?(): Promise<void> | void;
  /** Before the mesh closes its connections: persist, tell peers, release resources. */
  stop(): Promise<void> | void;
}

export type SubsystemFactory = (ctx: SubsystemContext) => Promise<Subsystem> | Subsystem;

/** The data plane: the mesh needs its Overlay at construction, so it is made before the mesh exists. */
export type OverlayFactory = (
  ctx: Omit<SubsystemContext, 'mesh'>,
) => Promise<{ overlay: Overlay; subsystem: Subsystem }>;
