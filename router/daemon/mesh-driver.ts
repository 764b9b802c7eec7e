/**
 * The daemon's mesh engine: the mesh core's own shell (router/mesh/driver.ts)
 * on real TCP and real timers, plus what the API needs. Nothing here decides
 * anything; it only binds.
 */

import { weftVersion } from '../../common/version.js';
import { MeshDriver, realScheduler } from '../mesh/driver.js';
import { joinHostPort } from '../transport/tcp.js';
import type { MeshEngine, MeshEngineConfig, MeshEngineDeps } from './mesh-engine.js';

export function createMeshEngine(config: MeshEngineConfig, deps: MeshEngineDeps): MeshEngine {
  const driver = new MeshDriver({
    name: config.name,
    nickname: config.nickname,
    uid: config.uid,
    listenPort: config.port,
    psk: config.psk,
    clock: deps.clock,
    random: deps.random,
    logger: deps.logger,
    discovery: config.discovery,
    connLimit: config.connLimit,
    targets: config.targets,
    ...(config.overlay ? { overlay: config.overlay } : {}),
    software: `weft ${weftVersion()}`,
    transport: deps.transport,
    scheduler: realScheduler,
    onPersistTargets: (addresses) => deps.directPeersChanged(addresses),
  });
  const router = driver.router;
  return {
    router,
    async start() {
      const listener = await driver.listen(
        joinHostPort(config.host === '' ? '0.0.0.0' : config.host, config.port),
      );
      driver.start();
      return listener.address;
    },
    stop: () => driver.stop(),
    report: () => router.report(),
    connect: (addresses, opts) => router.connect(addresses, opts),
    forget: (addresses) => router.forget(addresses),
    directTargets: () => router.directTargets(),
  };
}
