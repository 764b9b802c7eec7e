/**
 * The mesh's routes: /status (+ views), /report, /connect, /forget.
 */
import type { FastifyInstance } from 'fastify';
import { WeftError } from '../../../common/errors.js';
import { errorBodySchema } from '../errors.js';
import type { ApiExtension } from '../extension.js';
import type { MeshControl } from '../mesh-control.js';
import { mustParsePeerAddresses } from '../peer-address.js';
import { type Report, reportSchema } from '../report.js';
import { formatConnections, formatPeers, formatStatus, formatTargets } from '../status-text.js';

export interface MeshRoutesOptions {
  mesh: MeshControl;
  version: string;
  extensions: readonly ApiExtension[];
  /** Mesh port for peer addresses given without one. */
  defaultPort: number;
}

const errors = { '4xx': errorBodySchema, '5xx': errorBodySchema };

const peersBody = {
  type: 'object',
  additionalProperties: false,
  properties: {
    peers: { type: 'array', items: { type: 'string', maxLength: 300 }, maxItems: 1000 },
    replace: { type: 'boolean' },
  },
} as const;

// Weave's clients send `peer=a&peer=b` in the query; ajv coerces one value to an array.
const peersQuery = {
  type: 'object',
  properties: {
    peer: { type: 'array', items: { type: 'string', maxLength: 300 }, maxItems: 1000 },
    replace: { type: 'boolean' },
  },
} as const;

const targetsReply = {
  type: 'object',
  required: ['targets'],
  properties: { targets: { type: 'array', items: { type: 'string' } } },
} as const;

interface PeersRequest {
  Body: { peers?: string[]; replace?: boolean } | undefined;
  Querystring: { peer?: string[]; replace?: boolean };
}

function requestedPeers(req: { body: PeersRequest['Body']; query: PeersRequest['Querystring'] }) {
  const peers = [...(req.body?.peers ?? []), ...(req.query.peer ?? [])];
  const replace = req.body?.replace ?? req.query.replace ?? false;
  return { peers, replace };
}

// A POST with only query parameters has no body; validate it as an empty object.
async function emptyBodyIsObject(req: { body: unknown }): Promise<void> {
  if (req.body === undefined || req.body === null) req.body = {};
}

export function buildReport(opts: MeshRoutesOptions): Report {
  const report: Report = { version: opts.version, router: opts.mesh.report() };
  for (const ext of opts.extensions) if (ext.report) report[ext.name] = ext.report();
  return report;
}

export async function meshRoutes(app: FastifyInstance, opts: MeshRoutesOptions): Promise<void> {
  const { mesh, extensions, defaultPort } = opts;
  const text = { 200: { type: 'string' }, ...errors };

  app.get('/status', { schema: { response: text } }, async (_req, reply) => {
    const blocks = extensions.flatMap((e) => (e.status ? [e.status()] : []));
    return reply.type('text/plain; charset=utf-8').send(formatStatus(buildReport(opts), blocks));
  });

  const views: Record<string, () => string> = {
    peers: () => formatPeers(mesh.report()),
    connections: () => formatConnections(mesh.report()),
    targets: () => formatTargets(mesh.report()),
  };
  for (const e of extensions) if (e.statusView) views[e.name] = e.statusView.bind(e);

  app.get<{ Params: { view: string } }>(
    '/status/:view',
    {
      schema: {
        params: {
          type: 'object',
          required: ['view'],
          properties: { view: { type: 'string', maxLength: 64 } },
        },
        response: text,
      },
    },
    async (req, reply) => {
      const view = Object.hasOwn(views, req.params.view) ? views[req.params.view] : undefined;
      if (!view) {
        throw new WeftError('NOT_FOUND', `no status view ${JSON.stringify(req.params.view)}`, {
          views: Object.keys(views),
        });
      }
      return reply.type('text/plain; charset=utf-8').send(view());
    },
  );

  app.get('/report', { schema: { response: { 200: reportSchema, ...errors } } }, async () =>
    buildReport(opts),
  );

  app.post<PeersRequest>(
    '/connect',
    {
      preValidation: emptyBodyIsObject,
      schema: { body: peersBody, querystring: peersQuery, response: { 200: targetsReply, ...errors } },
    },
    async (req) => {
      const { peers, replace } = requestedPeers(req);
      const addresses = mustParsePeerAddresses(peers, defaultPort);
      mesh.connect(addresses, { replace });
      return { targets: mesh.directTargets() };
    },
  );

  app.post<PeersRequest>(
    '/forget',
    {
      preValidation: emptyBodyIsObject,
      schema: { body: peersBody, querystring: peersQuery, response: { 200: targetsReply, ...errors } },
    },
    async (req) => {
      const { peers } = requestedPeers(req);
      if (peers.length === 0) throw new WeftError('BAD_REQUEST', 'forget needs at least one peer');
      mesh.forget(mustParsePeerAddresses(peers, defaultPort));
      return { targets: mesh.directTargets() };
    },
  );
}
