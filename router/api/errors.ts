/**
 * The API's one error path: every failure leaves as
 * `{error:{code,message,details?}}` with the HTTP status the catalogue
 * (common/errors.ts) gives its code. Fastify's own errors (schema validation,
 * malformed JSON, oversized bodies, unknown routes) become BAD_REQUEST /
 * NOT_FOUND with the status fastify chose; anything unexpected is INTERNAL and
 * logged, without leaking its message to the client.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isWeftError, WeftError } from '../../common/errors.js';

export function toWeftError(e: unknown): WeftError {
  if (isWeftError(e)) return e;
  const fe = e as Partial<FastifyError>;
  if (fe?.validation) {
    return new WeftError(
      'BAD_REQUEST',
      `${fe.validationContext ?? 'request'} ${fe.message ?? 'is invalid'}`,
      {
        validation: fe.validation.map((v) => ({ path: v.instancePath, message: v.message })),
      },
    );
  }
  if (typeof fe?.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    return new WeftError(
      'BAD_REQUEST',
      fe.message ?? 'bad request',
      fe.code ? { fastifyCode: fe.code } : undefined,
    );
  }
  return new WeftError('INTERNAL');
}

/** The status to send: the catalogue's, except for fastify's own 4xx (413, 415, …) which are more precise. */
function statusFor(original: unknown, we: WeftError): number {
  const sc = (original as Partial<FastifyError>)?.statusCode;
  if (!isWeftError(original) && typeof sc === 'number' && sc >= 400 && sc < 500) return sc;
  return we.httpStatus;
}

export function installErrorHandlers(app: FastifyInstance): void {
  app.setErrorHandler((error: unknown, request: FastifyRequest, reply: FastifyReply) => {
    const we = toWeftError(error);
    const status = statusFor(error, we);
    if (status >= 500)
      request.log.error({ err: error, code: we.code, url: request.url }, 'API request failed');
    else request.log.debug({ code: we.code, url: request.url, msg: we.message }, 'API request refused');
    return reply.code(status).type('application/json').send(we.toJSON());
  });
  app.setNotFoundHandler((request: FastifyRequest, reply: FastifyReply) =>
    reply
      .code(404)
      .type('application/json')
      .send(new WeftError('NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]}`).toJSON()),
  );
}

/**
 * Fastify's `frameworkErrors` option: errors its router raises before any
 * route or hook runs (a malformed percent-encoding in the URL, a path
 * parameter over `maxParamLength`, a failed async constraint) would otherwise
 * leave in fastify's own body shape; they are bad requests like any other.
 * Found by the HTTP fuzz target (test/fuzz/targets/http-api.fuzz.ts).
 */
export function frameworkErrors(error: FastifyError, _request: FastifyRequest, reply: FastifyReply): void {
  const status =
    typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500
      ? error.statusCode
      : 400;
  reply
    .code(status)
    .type('application/json')
    .send(new WeftError('BAD_REQUEST', error.message, { fastifyCode: error.code }).toJSON());
}

/** Response schema for every error body (add under `4xx`/`5xx` in route schemas). */
export const errorBodySchema = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: {
        code: { type: 'string' },
        message: { type: 'string' },
        details: { type: 'object', additionalProperties: true },
      },
    },
  },
} as const;
