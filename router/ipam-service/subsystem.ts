/**
 * IPAM as a router subsystem (router/daemon/subsystem.ts): opens the IPAM
 * tables in the data dir's database, runs an IpamService on the mesh's
 * "ipam" channel, and contributes the IPAM routes, /report section, /status
 * block and metrics.
 *
 *   const ipam = parseIpallocFlags(flags, process.env, config.peers.length);
 *   await startRouter(config, { subsystems: [ipamSubsystem({ ...ipam, onLeave: () => router.shutdown('left') })] });
 */
import { join } from 'node:path';
import { ipamApiExtension } from '../api/routes/ipam.js';
import type { SubsystemFactory } from '../daemon/subsystem.js';
import { ipamMetricsSource } from '../metrics/index.js';
import { DATABASE_FILE, Database } from '../store/database.js';
import { IpamStore } from '../store/ipam-store.js';
import type { IpamOptions } from './flags.js';
import { IpamService } from './service.js';

export interface IpamSubsystemOptions extends IpamOptions {
  /** An open router database to share; by default `<data dir>/weft.db` is opened (and closed on stop). */
  db?: Database;
  /** After DELETE /peer handed our space over: shut the router down. */
  onLeave?: () => void;
  /** The store failed: by default an uncaught error, which the daemon turns into exit 1 (restart from disk). */
  onFatal?: (err: unknown) => void;
  /** Override IPAM timing (tests). */
  tuning?: { allocationTimeoutMs?: number; retryIntervalMs?: number; startFenceMs?: number };
}

export function ipamSubsystem(opts: IpamSubsystemOptions): SubsystemFactory {
  return (ctx) => {
    const db = opts.db ?? Database.open(join(ctx.config.dataDir, DATABASE_FILE));
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
    return {
      name: 'ipam',
      api: ipamApiExtension({ ipam: service, ...(opts.onLeave ? { onLeave: opts.onLeave } : {}) }),
      metrics: { ipam: ipamMetricsSource(() => service.status()) },
      start: () => service.start(),
      stop: () => {
        service.stop();
        if (!opts.db) db.close();
      },
    };
  };
}
