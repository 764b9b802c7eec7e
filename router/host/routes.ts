/**
 * The host's own place on the overlay, as routes (fastify plugin):
 *
 *   GET    /expose                          {addresses, masqueraded}
 *   POST   /expose   {cidrs?, masquerade?}  expose the host (weft expose); the new state
 *   DELETE /expose[?cidr=…&cidr=…]          hide (all, or those); the new state
 *   GET    /attachments                     {attachments: [...]} (weft ps)
 *
 * Errors are the shared `{error:{code,message,details?}}` (INVALID_CIDR,
 * OUT_OF_RANGE, ADDRESS_IN_USE, NOT_FOUND when there is no bridge, RING_NOT_READY…).
 */
import type { FastifyInstance } from 'fastify';
import { errorBodySchema } from '../api/errors.js';
import type { ApiExtension } from '../api/extension.js';
import type { AttachmentRow } from './attachments.js';
import type { ExposeState } from './expose-service.js';

export interface ExposeControl {
  state(): Promise<ExposeState>;
  expose(req: { cidrs: readonly string[]; masquerade: boolean }): Promise<ExposeState>;
  hide(req: { cidrs: readonly string[] }): Promise<ExposeState>;
}

export interface HostRoutesOptions {
  expose: ExposeControl;
  attachments: () => Promise<AttachmentRow[]>;
}

const errors = { '4xx': errorBodySchema, '5xx': errorBodySchema };
const CIDR = { type: 'string', minLength: 1, maxLength: 22 } as const;
const CIDRS = { type: 'array', items: CIDR, maxItems: 64 } as const;

const exposeStateSchema = {
  type: 'object',
  required: ['addresses', 'masqueraded'],
  properties: {
    addresses: { type: 'array', items: { type: 'string' } },
    masqueraded: { type: 'array', items: { type: 'string' } },
  },
} as const;

const nullableString = { type: ['string', 'null'] } as const;

const attachmentSchema = {
  type: 'object',
  required: ['id', 'kind', 'device', 'mac', 'addresses', 'state'],
  properties: {
    id: { type: 'string' },
    kind: { type: 'string', enum: ['cni', 'attach', 'expose', 'other', 'unknown'] },
    container: { type: 'string' },
    ifname: { type: 'string' },
    network: { type: 'string' },
    device: nullableString,
    mac: nullableString,
    addresses: { type: 'array', items: { type: 'string' } },
    state: { type: 'string', enum: ['attached', 'no-device', 'no-address'] },
  },
} as const;

export async function hostRoutes(app: FastifyInstance, opts: HostRoutesOptions): Promise<void> {
  app.get('/expose', { schema: { response: { 200: exposeStateSchema, ...errors } } }, () =>
    opts.expose.state(),
  );

  app.post<{ Body: { cidrs?: string[]; masquerade?: boolean } | undefined }>(
    '/expose',
    {
      preValidation: async (req) => {
        if (req.body === undefined || req.body === null) req.body = {};
      },
      schema: {
        body: {
          type: 'object',
          additionalProperties: false,
          properties: { cidrs: CIDRS, masquerade: { type: 'boolean' } },
        },
        response: { 200: exposeStateSchema, ...errors },
      },
    },
    (req) => opts.expose.expose({ cidrs: req.body?.cidrs ?? [], masquerade: req.body?.masquerade ?? true }),
  );

  app.delete<{ Querystring: { cidr?: string[] } }>(
    '/expose',
    {
      schema: {
        querystring: { type: 'object', additionalProperties: false, properties: { cidr: CIDRS } },
        response: { 200: exposeStateSchema, ...errors },
      },
    },
    (req) => opts.expose.hide({ cidrs: req.query.cidr ?? [] }),
  );

  app.get(
    '/attachments',
    {
      schema: {
        response: {
          200: {
            type: 'object',
            required: ['attachments'],
            properties: { attachments: { type: 'array', items: attachmentSchema } },
          },
          ...errors,
        },
      },
    },
    async () => ({ attachments: await opts.attachments() }),
  );
}

/** The host part of the router's API (no /report section: expose state lives in the kernel). */
export function hostApiExtension(opts: HostRoutesOptions): ApiExtension {
  return { name: 'host', routes: (app) => app.register(hostRoutes, opts) };
}
