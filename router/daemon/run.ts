/**
 * `weft router`'s process: wires the mesh to real adapters and runs until
 * SIGTERM/SIGINT. Holds no logic of its own beyond wiring and ordering:
 *
 *   data dir (0700, pid lock) → pino → stored state → peer name, fresh UID
 *   → PSK (slow KDF, off the event loop) → mesh (TCP listen, dial targets)
 *   → HTTP API → ready … signal → API drains → mesh closes → state flushed
 *   → lock released → exit 0.
 *
 * Start-up failures (port in use, data dir locked, bad name) throw a WeftError
 * whose message the CLI prints as one line.
 */
import { join } from 'node:path';
import { systemClock } from '../../common/clock.js';
import { WeftError } from '../../common/errors.js';
import { cryptoRandom } from '../../common/random.js';
import { weftVersion } from '../../common/version.js';
import { derivePskAsync } from '../../crypto/index.js';
import { buildApi } from '../api/app.js';
import type { Overlay } from '../mesh/overlay-api.js';
import { meshMetricsSource, startRouterMetrics } from '../metrics/index.js';
import { DATABASE_FILE, type Database, openDatabase } from '../store/database.js';
import { SqliteRouterState } from '../store/router-state-store.js';
import { TcpTransport } from '../transport/tcp.js';
import type { RouterConfig } from './config.js';
import { lockDataDir, prepareDataDir } from './data-dir.js';
import { exposureWarnings } from './exposure.js';
import { choosePeerName, newPeerUid } from './identity.js';
import { createDaemonLogger } from './logging.js';
import { readMachineId } from './machine-id.js';
import { createMeshEngine } from './mesh-driver.js';
import type { OverlayFactory, Subsystem, SubsystemFactory } from './subsystem.js';

/** How long a graceful shutdown may take before we exit anyway. */
export const SHUTDOWN_GRACE_MS = 5_000;

export interface RunningRouter {
  readonly name: string;
  readonly meshAddress: string;
  readonly httpAddress: string;
  /** Resolves when the router has shut down (after a signal or `shutdown()`). */
  readonly done: Promise<void>;
  shutdown(reason: string): Promise<void>;
}

export interface StartOptions {
  /** Subsystems riding on the mesh (IPAM, DNS), started in order, stopped in reverse before the mesh. */
  subsystems?: SubsystemFactory[];
  /** The data plane: created before the mesh (which needs its Overlay), stopped after it. */
  overlay?: OverlayFactory;
  /** Handle SIGTERM/SIGINT, crash on uncaught errors, force-exit a stuck shutdown (default true, as the CLI wants). */
  ownProcess?: boolean;
}

export async function startRouter(config: RouterConfig, opts: StartOptions = {}): Promise<RunningRouter> {
  prepareDataDir(config.dataDir);
  const releaseLock = lockDataDir(config.dataDir);
  const pino = createDaemonLogger(config.logLevel);
  const log = pino.child({ component: 'daemon' });
  const ownProcess = opts.ownProcess !== false;
  if (ownProcess) {
    // A bug must not leave a half-working router behind: log it, exit non-zero,
    // let systemd/Kubernetes (or the operator) restart us with a clean state.
    const fatal = (e: unknown) => {
      pino.fatal(
        { err: e instanceof Error ? { message: e.message, stack: e.stack } : String(e) },
        'weft router crashed',
      );
      pino.flush();
      process.exit(1);
    };
    process.on('uncaughtException', fatal);
    process.on('unhandledRejection', fatal);
  }
  const cleanups: (() => Promise<void> | void)[] = [releaseLock];
  const runCleanups = async () => {
    for (const c of cleanups.splice(0).reverse()) {
      try {
        await c();
      } catch (e) {
        log.warn({ err: String(e) }, 'error during shutdown');
      }
    }
  };
  try {
    const dbPath = join(config.dataDir, DATABASE_FILE);
    let db: Database;
    try {
      db = openDatabase(dbPath);
    } catch (e) {
      throw new WeftError('INTERNAL', `cannot open the router database ${dbPath}: ${(e as Error).message}`);
    }
    cleanups.push(() => db.close());
    const state = new SqliteRouterState(db);
    const choice = choosePeerName({
      flag: config.name,
      stored: state.peerName(),
      machineId: readMachineId(),
      dataDir: config.dataDir,
      random: cryptoRandom,
    });
    if (choice.persist) state.setPeerName(choice.name);
    const uid = newPeerUid(cryptoRandom);
    const psk = config.password === undefined ? null : await derivePskAsync(config.password);
    const targets = [...new Set([...config.peers, ...state.directPeers()])];
    log.info(
      {
        version: weftVersion(),
        name: choice.name,
        nameSource: choice.source,
        nickname: config.nickname,
        uid: uid.toString(),
        encryption: psk !== null,
        dataDir: config.dataDir,
        targets,
      },
      'weft router starting',
    );

    // A subsystem may ask the router to stop (IPAM after DELETE /peer); before
    // the router is fully up the request waits until it is.
    let requestedStop: string | undefined;
    let stopNow: ((reason: string) => void) | undefined;
    const requestShutdown = (reason: string) => {
      if (stopNow) stopNow(reason);
      else requestedStop ??= reason;
    };
    const base = {
      config,
      name: choice.name,
      uid,
      db,
      clock: systemClock,
      random: cryptoRandom,
      logger: pino,
      requestShutdown,
    };
    const subsystems: Subsystem[] = [];
    let overlay: Overlay | undefined;
    if (opts.overlay) {
      const dp = await opts.overlay(base);
      overlay = dp.overlay;
      subsystems.push(dp.subsystem);
      cleanups.push(() => dp.subsystem.stop());
    }
    const mesh = createMeshEngine(
      {
        name: choice.name,
        nickname: config.nickname,
        uid,
        psk,
        port: config.port,
        host: config.host,
        connLimit: config.connLimit,
        discovery: config.discovery,
        targets,
        ...(overlay ? { overlay } : {}),
      },
      {
        transport: new TcpTransport({ logger: pino.child({ component: 'tcp' }) }),
        clock: systemClock,
        random: cryptoRandom,
        logger: pino, // the mesh core adds its own component binding
        directPeersChanged: (peers) => state.setDirectPeers(peers),
      },
    );
    cleanups.push(() => mesh.stop());
    // Subsystems stop before the mesh closes (reverse order of cleanups), so
    // they can still tell peers goodbye.
    for (const factory of opts.subsystems ?? []) {
      const sub = await factory({ ...base, mesh: mesh.router });
      subsystems.push(sub);
      cleanups.push(() => sub.stop());
    }
    // Persist the start-up targets now, so a router restarted without its
    // command-line peers still finds them.
    state.setDirectPeers(targets);
    const meshAddress = await mesh.start().catch((e: Error) => {
      throw new WeftError(
        'BAD_REQUEST',
        `cannot listen on mesh port ${config.host || '*'}:${config.port}: ${e.message}`,
      );
    });
    for (const sub of subsystems) await sub.start?.();

    let draining = false;
    const api = await buildApi({
      mesh,
      version: weftVersion(),
      extensions: subsystems.flatMap((sub) => (sub.api ? [sub.api] : [])),
      logger: pino.child({ component: 'api' }),
      defaultPort: config.port,
      draining: () => draining,
    });
    const httpAddress = await api
      .listen({ host: config.http.host, port: config.http.port })
      .catch((e: Error) => {
        throw new WeftError(
          'BAD_REQUEST',
          `cannot listen on --http-addr ${config.http.host}:${config.http.port}: ${e.message}`,
        );
      });
    cleanups.push(() => api.close());
    let metricsAddress: string | null = null;
    if (config.metrics) {
      const addr = config.metrics;
      const metrics = await startRouterMetrics({
        addr,
        version: weftVersion(),
        sources: Object.assign(
          { mesh: meshMetricsSource(mesh) },
          ...subsystems.map((sub) => sub.metrics ?? {}),
        ),
        logger: pino.child({ component: 'metrics' }),
      }).catch((e: Error) => {
        throw new WeftError(
          'BAD_REQUEST',
          `cannot listen on --metrics-addr ${addr.host}:${addr.port}: ${e.message}`,
        );
      });
      cleanups.push(() => metrics.close());
      metricsAddress = metrics.address;
    }
    for (const w of exposureWarnings([
      { what: 'api', ...config.http },
      ...(config.metrics ? [{ what: 'metrics' as const, ...config.metrics }] : []),
    ]))
      log.warn({ address: w.address }, w.message);
    log.info({ name: choice.name, meshAddress, httpAddress, metricsAddress }, 'weft router ready');

    let resolveDone!: () => void;
    const done = new Promise<void>((r) => {
      resolveDone = r;
    });
    let stopping: Promise<void> | undefined;
    const shutdown = (reason: string): Promise<void> => {
      if (stopping) return stopping;
      draining = true;
      log.info({ reason }, 'weft router shutting down');
      const force = ownProcess
        ? setTimeout(() => {
            log.error({ graceMs: SHUTDOWN_GRACE_MS }, 'shutdown took too long, exiting');
            pino.flush();
            process.exit(1);
          }, SHUTDOWN_GRACE_MS)
        : undefined;
      force?.unref();
      stopping = (async () => {
        if (ownProcess) {
          process.removeListener('SIGTERM', onSignal);
          process.removeListener('SIGINT', onSignal);
        }
        await runCleanups();
        clearTimeout(force);
        log.info({}, 'weft router stopped');
        pino.flush();
        resolveDone();
      })();
      return stopping;
    };
    const onSignal = (sig: NodeJS.Signals) => void shutdown(sig);
    if (ownProcess) {
      process.on('SIGTERM', onSignal);
      process.on('SIGINT', onSignal);
    }
    stopNow = (reason) => void shutdown(reason);
    if (requestedStop !== undefined) stopNow(requestedStop);
    return { name: choice.name, meshAddress, httpAddress, done, shutdown };
  } catch (e) {
    log.error({ err: e instanceof Error ? e.message : String(e) }, 'weft router failed to start');
    await runCleanups();
    pino.flush();
    throw e;
  }
}

/** Run in the foreground until a signal, then resolve (the CLI then exits 0). */
export async function runRouter(config: RouterConfig, opts: StartOptions = {}): Promise<void> {
  const router = await startRouter(config, opts);
  await router.done;
}
