/**
 * The router's HTTP API as a fastify app. Built by the daemon (which calls
 * `listen`) and by tests (which use `app.inject()`); knows the mesh only
 * through `MeshControl` and other subsystems only through `ApiExtension`.
 */
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';
import { WeftError } from '../../common/errors.js';
import { frameworkErrors, installErrorHandlers } from './errors.js';
import type { ApiExtension } from './extension.js';
import type { MeshControl } from './mesh-control.js';
import { DEFAULT_MESH_PORT } from './peer-address.js';
import { meshRoutes } from './routes/mesh.js';

export interface ApiOptions {
  mesh: MeshControl;
  version: string;
  extensions?: readonly ApiExtension[];
  /** pino instance (the daemon's); no logging when absent. */
  logger?: FastifyBaseLogger;
  defaultPort?: number;
  /** Answer SHUTTING_DOWN to every request once this returns true. */
  draining?: () => boolean;
}

/** How long a client may take to send a whole request (headers and body). */
export const API_REQUEST_TIMEOUT_MS = 60_000;

export async function buildApi(opts: ApiOptions): Promise<FastifyInstance> {
  const extensions = opts.extensions ?? [];
  const names = new Set<string>(['router', 'version', 'peers', 'connections', 'targets']);
  for (const e of extensions) {
    if (names.has(e.name)) throw new Error(`API extension name ${JSON.stringify(e.name)} is taken`);
    names.add(e.name);
  }
  const app = Fastify({
    ...(opts.logger ? { loggerInstance: opts.logger } : { logger: false }),
    // Per-request log lines would drown the mesh's; errors are logged by our handler.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 1 << 20,
    // A client must finish sending its request within this (fastify's default is no limit);
    // long answers (allocations, GET /ring?wait) are not affected.
    requestTimeout: API_REQUEST_TIMEOUT_MS,
    // Unknown fields are an error the caller should see, not silently dropped.
    ajv: { customOptions: { removeAdditional: false } },
    frameworkErrors,
  });
  installErrorHandlers(app);
  if (opts.draining) {
    const draining = opts.draining;
    app.addHook('onRequest', async () => {
      if (draining()) throw new WeftError('SHUTTING_DOWN');
    });
  }
  await app.register(meshRoutes, {
    mesh: opts.mesh,
    version: opts.version,
    extensions,
    defaultPort: opts.defaultPort ?? DEFAULT_MESH_PORT,
  });
  for (const e of extensions) if (e.routes) await e.routes(app);
  return app;
}
