/**
 * Prometheus metrics for the router. The daemon calls `startRouterMetrics`
 * once, after the mesh (and IPAM, data plane) exist:
 *
 *   const metrics = await startRouterMetrics({
 *     addr: parseHttpAddr(flags.metricsAddr ?? '127.0.0.1:6782', '--metrics-addr'),
 *     version: weftVersion(),
 *     sources: {
 *       mesh: meshMetricsSource(mesh),                        // anything with report(): MeshReport
 *       ipam: ipamMetricsSource(() => ipam?.status() ?? null), // optional
 *       dataplane: dataplaneMetricsSource(...),                // router/dataplane/metrics-source.ts
 *     },
 *     logger: pino.child({ component: 'metrics' }),
 *   });
 *   cleanups.push(() => metrics.close());
 */
import type { Registry } from 'prom-client';
import type { Logger } from '../../common/logger.js';
import { createMetricsRegistry } from './registry.js';
import { type MetricsServer, startMetricsServer } from './server.js';
import type { MetricsSources } from './sources.js';

export { DATAPLANE_METRIC_NAMES } from './dataplane-metrics.js';
export { parseExposition } from './exposition.js';
export { ipamMetricsSample, ipamMetricsSource } from './from-ipam-status.js';
export { connectionSamples, meshMetricsSource } from './from-mesh-report.js';
export { IPAM_METRIC_NAMES } from './ipam-metrics.js';
export { MESH_METRIC_NAMES } from './mesh-metrics.js';
export { createMetricsRegistry } from './registry.js';
export { METRICS_DEFAULT_ADDR, METRICS_PATH, type MetricsServer, startMetricsServer } from './server.js';
export type * from './sources.js';

export interface RouterMetricsOptions {
  addr?: { host: string; port: number };
  version: string;
  sources: MetricsSources;
  processMetrics?: boolean;
  logger?: Logger;
}

export interface RouterMetrics extends MetricsServer {
  readonly registry: Registry;
}

export async function startRouterMetrics(opts: RouterMetricsOptions): Promise<RouterMetrics> {
  const registry = createMetricsRegistry({
    version: opts.version,
    sources: opts.sources,
    ...(opts.processMetrics === undefined ? {} : { processMetrics: opts.processMetrics }),
    ...(opts.logger ? { logger: opts.logger } : {}),
  });
  const server = await startMetricsServer(registry, {
    ...(opts.addr ? { addr: opts.addr } : {}),
    ...(opts.logger ? { logger: opts.logger } : {}),
  });
  return { registry, address: server.address, close: () => server.close() };
}
