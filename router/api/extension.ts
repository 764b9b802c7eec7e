/**
 * How a subsystem (IPAM, the data plane, later DNS) plugs into the HTTP API
 * without the API knowing it: it contributes a `/report` section, a block on
 * `/status`, a `/status/<name>` view and routes of its own. The daemon passes
 * the list to `buildApi`.
 */
import type { FastifyInstance } from 'fastify';
import type { StatusBlock } from './status-text.js';

export interface ApiExtension {
  /** Section name: the key in /report and the view /status/<name>. Lower case, unique. */
  readonly name: string;
  /** JSON for /report[name]. Must not contain secrets. */
  report?(): unknown;
  /** A "Service: <name>" block appended to /status. */
  status?(): StatusBlock;
  /** Text for GET /status/<name>. */
  statusView?(): string;
  /**
   * Register routes, e.g. `(app) => app.register(ipamRoutes, { allocator })`.
   * Errors thrown as WeftError reach the shared error handler and become
   * `{error:{code,message,details?}}` with the catalogue's status.
   */
  routes?(app: FastifyInstance): unknown;
}
