/**
 * IPAM's HTTP routes (Weave's paths, JSON in and out) as a fastify plugin, and
 * the `ApiExtension` that plugs them, the `ipam` /report section and the
 * /status block into the router's API:
 *
 *   POST   /ip/{id}[?subnet=a.b.c.d/n]     allocate (idempotent per container and subnet)
 *   POST   /ip/{id}/{net}/{prefix}         allocate in that subnet
 *   PUT    /ip/{id}/{ip}/{prefix}          claim that address (idempotent; 409 ADDRESS_IN_USE)
 *   GET    /ip/{id}                        the container's addresses (404 when none)
 *   GET    /ip                             every allocation of this peer
 *   DELETE /ip/{id}                        release the container's addresses (200 even if none)
 *   DELETE /ip/{id}/{ip}                   release one address
 *   GET    /ring[?wait=false&timeout=ms]   the ring; waits for it to exist unless wait=false
 *   DELETE /ring                           give up our ring and allocations (the way out of a ring
 *                                          conflict, on every router of the side to give up)
 *   DELETE /peer/{name[,name…]}[?force=true]
 *                                          rmpeer: take over dead peers' space (409 PEER_IS_LIVE;
 *                                          409 OWNERS_UNREACHABLE while other owners are unreachable)
 *   DELETE /peer                           hand our space over and leave
 *
 * An address answer is what a CNI plugin needs:
 *   { containerId, address: "10.32.0.5/12", ip, prefix, subnet: "10.32.0.0/12", range: "10.32.0.0/12" }
 * Errors are `{error:{code,message,details?}}` with the status of common/errors.ts
 * (503 RING_NOT_READY / NO_FREE_ADDRESSES, 504 ALLOCATION_TIMEOUT: try again).
 */
import type { FastifyInstance } from 'fastify';
import { WeftError } from '../../common/errors.js';
import { type Cidr, parseCidr, parseIp } from '../../common/ip.js';
import type { IpamStatus } from '../../ipam/types.js';
import { errorBodySchema } from '../api/errors.js';
import type { ApiExtension } from '../api/extension.js';
import type { RingView } from './ring-view.js';
import type { IpamAddress } from './service.js';
import { ipamReport, ipamStatusBlock, ipamStatusView } from './status-text.js';

/** What the routes need (IpamService implements it). */
export interface IpamApi {
  allocate(containerId: string, subnet?: Cidr): Promise<IpamAddress>;
  claim(containerId: string, ip: number, prefix: number): Promise<IpamAddress>;
  release(containerId: string, ip?: number): Promise<{ released: string[] }>;
  lookup(containerId: string): IpamAddress[];
  all?(): IpamAddress[];
  rmpeer(
    peers: readonly string[],
    opts?: { force?: boolean },
  ): Promise<{ owners: string[]; addresses: number }>;
  reset(): Promise<{ heirs: string[]; addresses: number }>;
  abandonRing(): Promise<{ ringId: string | null; allocations: number }>;
  status(): IpamStatus;
  ring(): RingView;
  waitForRing(timeoutMs: number): Promise<RingView>;
}

export interface IpamRoutesOptions {
  ipam: IpamApi;
  /** Called after DELETE /peer answered: the daemon shuts down. */
  onLeave?: () => void;
  /** How long GET /ring waits for a ring by default. */
  ringWaitMs?: number;
}

const errors = { '4xx': errorBodySchema, '5xx': errorBodySchema };
const CONTAINER_ID = { type: 'string', minLength: 1, maxLength: 255 } as const;
const IPV4 = { type: 'string', pattern: '^[0-9]{1,3}(\\.[0-9]{1,3}){3}$' } as const;
const PREFIX = { type: 'integer', minimum: 0, maximum: 32 } as const;

const addressSchema = {
  type: 'object',
  required: ['containerId', 'address', 'ip', 'prefix', 'subnet', 'range'],
  properties: {
    containerId: { type: 'string' },
    address: { type: 'string' },
    ip: { type: 'string' },
    prefix: { type: 'integer' },
    subnet: { type: 'string' },
    range: { type: 'string' },
  },
} as const;

const ringSchema = {
  type: 'object',
  required: ['state', 'ringId', 'range', 'entries', 'dead', 'left'],
  properties: {
    state: { type: 'string' },
    ringId: { type: ['string', 'null'] },
    range: { type: 'string' },
    entries: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          first: { type: 'string' },
          last: { type: 'string' },
          size: { type: 'integer' },
          owner: { type: 'string' },
          peer: { type: 'string' },
          version: { type: 'integer' },
          free: { type: 'integer' },
          reachable: { type: 'boolean' },
          dead: { type: 'boolean' },
        },
      },
    },
    dead: { type: 'array', items: { type: 'string' } },
    left: { type: 'array', items: { type: 'string' } },
  },
} as const;

function mustIp(s: string): number {
  const v = parseIp(s);
  if (v === undefined) throw new WeftError('INVALID_ADDRESS', `not an IPv4 address: ${JSON.stringify(s)}`);
  return v;
}

function mustSubnet(s: string): Cidr {
  const c = parseCidr(s);
  if (!c)
    throw new WeftError('INVALID_CIDR', `not a subnet (a.b.c.d/n without host bits): ${JSON.stringify(s)}`);
  return c;
}

export async function ipamRoutes(app: FastifyInstance, opts: IpamRoutesOptions): Promise<void> {
  const { ipam } = opts;
  const ringWaitMs = opts.ringWaitMs ?? 30_000;

  app.post<{ Params: { id: string }; Querystring: { subnet?: string } }>(
    '/ip/:id',
    {
      schema: {
        params: { type: 'object', required: ['id'], properties: { id: CONTAINER_ID } },
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { subnet: { type: 'string', maxLength: 18 } },
        },
        response: { 200: addressSchema, ...errors },
      },
    },
    async (req) => ipam.allocate(req.params.id, req.query.subnet ? mustSubnet(req.query.subnet) : undefined),
  );

  app.post<{ Params: { id: string; net: string; prefix: number } }>(
    '/ip/:id/:net/:prefix',
    {
      schema: {
        params: {
          type: 'object',
          required: ['id', 'net', 'prefix'],
          properties: { id: CONTAINER_ID, net: IPV4, prefix: PREFIX },
        },
        response: { 200: addressSchema, ...errors },
      },
    },
    async (req) => ipam.allocate(req.params.id, mustSubnet(`${req.params.net}/${req.params.prefix}`)),
  );

  app.put<{ Params: { id: string; ip: string; prefix: number } }>(
    '/ip/:id/:ip/:prefix',
    {
      schema: {
        params: {
          type: 'object',
          required: ['id', 'ip', 'prefix'],
          properties: { id: CONTAINER_ID, ip: IPV4, prefix: PREFIX },
        },
        response: { 200: addressSchema, ...errors },
      },
    },
    async (req) => ipam.claim(req.params.id, mustIp(req.params.ip), req.params.prefix),
  );

  app.get<{ Params: { id: string } }>(
    '/ip/:id',
    {
      schema: {
        params: { type: 'object', required: ['id'], properties: { id: CONTAINER_ID } },
        response: {
          200: {
            type: 'object',
            required: ['containerId', 'addresses'],
            properties: {
              containerId: { type: 'string' },
              addresses: { type: 'array', items: addressSchema },
            },
          },
          ...errors,
        },
      },
    },
    async (req) => {
      const addresses = ipam.lookup(req.params.id);
      if (addresses.length === 0) throw new WeftError('NOT_FOUND', `no address for ${req.params.id}`);
      return { containerId: req.params.id, addresses };
    },
  );

  app.get(
    '/ip',
    {
      schema: {
        response: {
          200: {
            type: 'object',
            required: ['addresses'],
            properties: { addresses: { type: 'array', items: addressSchema } },
          },
          ...errors,
        },
      },
    },
    async () => ({ addresses: ipam.all?.() ?? [] }),
  );

  const releaseReply = {
    200: {
      type: 'object',
      required: ['released'],
      properties: { released: { type: 'array', items: { type: 'string' } } },
    },
    ...errors,
  };

  app.delete<{ Params: { id: string } }>(
    '/ip/:id',
    {
      schema: {
        params: { type: 'object', required: ['id'], properties: { id: CONTAINER_ID } },
        response: releaseReply,
      },
    },
    async (req) => ipam.release(req.params.id),
  );

  app.delete<{ Params: { id: string; ip: string } }>(
    '/ip/:id/:ip',
    {
      schema: {
        params: { type: 'object', required: ['id', 'ip'], properties: { id: CONTAINER_ID, ip: IPV4 } },
        response: releaseReply,
      },
    },
    async (req) => ipam.release(req.params.id, mustIp(req.params.ip)),
  );

  app.get<{ Querystring: { wait?: boolean; timeout?: number } }>(
    '/ring',
    {
      schema: {
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            wait: { type: 'boolean' },
            timeout: { type: 'integer', minimum: 0, maximum: 600_000 },
          },
        },
        response: { 200: ringSchema, ...errors },
      },
    },
    async (req) => {
      if (req.query.wait === false) return ipam.ring();
      const view = await ipam.waitForRing(req.query.timeout ?? ringWaitMs);
      if (view.ringId === null) {
        const s = ipam.status();
        throw new WeftError('RING_NOT_READY', `no ring yet: ${s.state}`, {
          state: s.state,
          ...(s.consensus ? { consensus: s.consensus } : {}),
        });
      }
      return view;
    },
  );

  app.delete(
    '/ring',
    {
      schema: {
        response: {
          200: {
            type: 'object',
            required: ['ringId', 'allocations'],
            properties: { ringId: { type: ['string', 'null'] }, allocations: { type: 'integer' } },
          },
          ...errors,
        },
      },
    },
    async () => ipam.abandonRing(),
  );

  app.delete<{ Params: { name: string }; Querystring: { force?: boolean } }>(
    '/peer/:name',
    {
      schema: {
        params: {
          type: 'object',
          required: ['name'],
          properties: { name: { type: 'string', minLength: 1, maxLength: 4096 } },
        },
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { force: { type: 'boolean' } },
        },
        response: {
          200: {
            type: 'object',
            required: ['owners', 'addresses'],
            properties: {
              owners: { type: 'array', items: { type: 'string' } },
              addresses: { type: 'integer' },
            },
          },
          ...errors,
        },
      },
    },
    async (req) => ipam.rmpeer(req.params.name.split(','), { force: req.query.force === true }),
  );

  app.delete(
    '/peer',
    {
      schema: {
        response: {
          200: {
            type: 'object',
            required: ['heirs', 'addresses'],
            properties: {
              heirs: { type: 'array', items: { type: 'string' } },
              addresses: { type: 'integer' },
            },
          },
          ...errors,
        },
      },
    },
    async (_req, reply) => {
      const result = await ipam.reset();
      if (opts.onLeave) reply.raw.once('finish', opts.onLeave);
      return result;
    },
  );
}

/** The IPAM part of the router's API: routes, the `ipam` /report section, the /status block and view. */
export function ipamApiExtension(opts: IpamRoutesOptions): ApiExtension {
  return {
    name: 'ipam',
    report: () => ipamReport(opts.ipam.status()),
    status: () => ipamStatusBlock(opts.ipam.status()),
    statusView: () => ipamStatusView(opts.ipam.status(), opts.ipam.ring()),
    routes: (app) => app.register(ipamRoutes, opts),
  };
}
