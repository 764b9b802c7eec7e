/**
 * One Prometheus registry per router (never prom-client's global one, so that
 * several routers in one process, as in tests, do not share metrics): weft's
 * own metrics pulled from the sources given, build info, and Node's process
 * metrics (`process_*`, `nodejs_*`, the standard unprefixed names that
 * dashboards expect).
 */
import { collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import { type Logger, nullLogger } from '../../common/logger.js';
import { registerDataplaneMetrics } from './dataplane-metrics.js';
import { registerIpamMetrics } from './ipam-metrics.js';
import { registerMeshMetrics } from './mesh-metrics.js';
import type { PullErrorHandler } from './pulled.js';
import type { MetricsSources } from './sources.js';

export interface MetricsRegistryOptions {
  /** weft's version, exported as `weft_build_info{version}`. */
  version: string;
  sources: MetricsSources;
  /** Process and Node.js runtime metrics (default true). */
  processMetrics?: boolean;
  /** Where failures of a source are reported (a warning the first time per metric, then debug). */
  logger?: Logger;
}

export function createMetricsRegistry(opts: MetricsRegistryOptions): Registry {
  const registry = new Registry();
  const log = opts.logger ?? nullLogger;
  // A broken source would fail on every scrape: warn once per metric, then debug.
  const warned = new Set<string>();
  const onError: PullErrorHandler = (metric, err) => {
    const level = warned.has(metric) ? 'debug' : 'warn';
    warned.add(metric);
    log[level]({ metric, err: String(err) }, 'metrics source failed; keeping the previous values');
  };

  new Gauge({
    name: 'weft_build_info',
    help: 'weft build information: always 1, labelled with the version.',
    labelNames: ['version'],
    registers: [registry],
  }).set({ version: opts.version }, 1);

  const { mesh, ipam, dataplane } = opts.sources;
  if (mesh) registerMeshMetrics(registry, mesh, onError);
  if (ipam) registerIpamMetrics(registry, ipam, onError);
  if (dataplane) registerDataplaneMetrics(registry, dataplane, onError);
  if (opts.processMetrics ?? true) collectDefaultMetrics({ register: registry });
  return registry;
}
