/**
 * The do-nothing overlay: every connection is established at once, no data
 * path exists. For the simulator, unit tests, and routers started without a
 * data plane.
 */
import type {
  MeshRoutes,
  Overlay,
  OverlayConnection,
  OverlayConnectionEvents,
  OverlayConnectionInfo,
  OverlayConnectionParams,
} from './overlay-api.js';

export class NullOverlay implements Overlay {
  /** The last routes handed over (tests look at it). */
  routes: MeshRoutes | null = null;
  removed: string[] = [];

  prepareConnection(_params: OverlayConnectionParams, events: OverlayConnectionEvents): OverlayConnection {
    events.established();
    const info: OverlayConnectionInfo = { path: 'none', encrypted: false, healthy: true };
    return { onControl: () => {}, info: () => info, close: () => {} };
  }

  routesChanged(routes: MeshRoutes): void {
    this.routes = routes;
  }

  peersRemoved(names: string[]): void {
    this.removed.push(...names);
  }
}
