/**
 * IPAM as a router subsystem (router/daemon/subsystem.ts): keeps its tables
 * in the router database, runs an IpamService on the mesh's "ipam" channel,
 * and contributes the IPAM routes, /report section, /status block and
 * metrics. DELETE /peer (hand over and leave) asks the router to shut down.
 *
 *   const ipam = parseIpallocFlags(flags, process.env, config.peers.length);
 *   await startRouter(config, { subsystems: [ipamSubsystem(ipam)] });
 */

import type { SubsystemFactory } from '../daemon/subsystem.js';
import { ipamMetricsSource } from '../metrics/index.js';
import type { Database } from '../store/database.js';
import { IpamStore } from '../store/ipam-store.js';
import type { IpamOptions } from './flags.js';
import { ipamApiExtension } from './routes.js';
import { IpamService } from './service.js';

export interface IpamSubsystemOptions extends IpamOptions {
  /** Another database than the router's (tests). */
  db?: Database;
  /** After DELETE /peer handed our space over; by default the router shuts down. */
  onLeave?: () => void;
  /** The store failed: by default an uncaught error, which the daemon turns into exit 1 (restart from disk). */
  onFatal?: (err: unknown) => void;
  /** Hands the running service to other subsystems of the same router (the host subsystem: expose, ps). */
  onService?: (service: IpamService) => void;
  /** Override IPAM timing (tests). */
  tuning?: { allocationTimeoutMs?: number; retryIntervalMs?: number; startFenceMs?: number };
}

export function ipamSubsystem(opts: IpamSubsystemOptions): SubsystemFactory {
  return (ctx) => {
    const db = opts.db ?? ctx.db;
    const service = new IpamService({
      config: {
        peer: ctx.name,
        range: opts.range,
        init: opts.init,
        ...(opts.defaultSubnet ? { defaultSubnet: opts.defaultSubnet } : {}),
        ...opts.tuning,
      },
      mesh: ctx.mesh,
      store: new IpamStore(db),
      clock: ctx.clock,
      random: ctx.random,
      logger: ctx.logger.child({ component: 'ipam' }),
      onFatal:
        opts.onFatal ??
        ((e) =>
          setImmediate(() => {
            throw e;
          })),
    });
    opts.onService?.(service);
    return {
      name: 'ipam',
      api: ipamApiExtension({
        ipam: service,
        onLeave: opts.onLeave ?? (() => ctx.requestShutdown('IPAM space handed over (DELETE /peer)')),
      }),
      metrics: { ipam: ipamMetricsSource(() => service.status()) },
      start: () => service.start(),
      stop: () => service.stop(),
    };
  };
}
